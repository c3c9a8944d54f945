import { type FormEvent, useState } from "react";
import type { WebhookEventName } from "../lib/webhooks.ts";

export interface WebhookFormValue {
  url: string;
  events: WebhookEventName[];
  active: boolean;
}

/**
 * Create or edit an endpoint: its URL, which events it receives (none ticked: all of them) and whether
 * it is active. The API checks the URL (https or http, public address unless the deployment allows
 * private targets) and answers in words; `error` shows that answer.
 */
export function WebhookForm({
  title,
  initial,
  events,
  submitLabel,
  busy,
  error,
  onSubmit,
  onCancel,
}: {
  title: string;
  initial: WebhookFormValue;
  events: readonly WebhookEventName[];
  submitLabel: string;
  busy: boolean;
  error: string | null;
  onSubmit: (value: WebhookFormValue) => void;
  onCancel: () => void;
}) {
  const [url, setUrl] = useState(initial.url);
  const [chosen, setChosen] = useState<WebhookEventName[]>(initial.events);
  const [active, setActive] = useState(initial.active);
  const [problem, setProblem] = useState<string | null>(null);

  function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = url.trim();
    if (!/^https?:\/\/\S+$/i.test(trimmed)) {
      setProblem("Enter the receiver's full URL, starting with https:// (or http://).");
      return;
    }
    setProblem(null);
    onSubmit({ url: trimmed, events: chosen, active });
  }

  const toggle = (name: WebhookEventName, on: boolean) =>
    setChosen((current) => (on ? [...current, name] : current.filter((e) => e !== name)));
  const shown = problem ?? error;

  return (
    <form className="card-panel webhook-form" onSubmit={submit} aria-label={title} noValidate>
      <h2 className="section-title">{title}</h2>
      <div className="field">
        <label htmlFor="webhook-url">Endpoint URL</label>
        <input
          id="webhook-url"
          type="url"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          placeholder="https://example.com/hooks/airlock"
          aria-invalid={shown ? true : undefined}
          aria-describedby={shown ? "webhook-form-error" : undefined}
          required
        />
      </div>
      <fieldset className="checks">
        <legend>Events (none ticked: every event)</legend>
        {events.map((name) => (
          <label key={name}>
            <input type="checkbox" checked={chosen.includes(name)} onChange={(e) => toggle(name, e.target.checked)} />
            <span className="mono">{name}</span>
          </label>
        ))}
      </fieldset>
      <div className="field field-check">
        <input id="webhook-active" type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} />
        <label htmlFor="webhook-active">Active (receives deliveries)</label>
      </div>
      {shown ? (
        <p className="form-error" id="webhook-form-error" role="alert">
          {shown}
        </p>
      ) : null}
      <div className="button-row">
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? "Saving…" : submitLabel}
        </button>
        <button type="button" className="button button-quiet" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
