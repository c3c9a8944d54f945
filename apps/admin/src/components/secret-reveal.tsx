import { type ReactNode, useState } from "react";

/**
 * A signing secret shown once (the API never returns it again): the value, a copy button, and a
 * button to dismiss it once the person has stored it.
 */
export function SecretReveal({
  title,
  secret,
  children,
  onDone,
}: {
  title: string;
  secret: string;
  children?: ReactNode;
  onDone: () => void;
}) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("yes");
    } catch {
      // No clipboard permission (or not a secure context): the value is selectable.
      setCopied("failed");
    }
  }
  return (
    <section className="secret-reveal notice" aria-labelledby="secret-title" data-testid="secret-reveal">
      <h2 id="secret-title" className="section-title">
        {title}
      </h2>
      <p>Copy it now: it is shown only this once. Receivers verify each delivery's signature with it.</p>
      <div className="secret-row">
        <code className="secret-value" data-testid="secret-value">
          {secret}
        </code>
        <button type="button" className="button button-small" onClick={() => void copy()}>
          Copy secret
        </button>
      </div>
      <p className="hint" role="status">
        {copied === "yes"
          ? "Copied to the clipboard."
          : copied === "failed"
            ? "Could not copy: select the secret and copy it by hand."
            : ""}
      </p>
      {children}
      <button type="button" className="button button-primary" onClick={onDone}>
        I have stored the secret
      </button>
    </section>
  );
}
