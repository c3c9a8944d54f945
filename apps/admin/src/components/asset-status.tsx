import type { TAssetStatus } from "@airlock/shared/schemas";

/** How each asset status reads, and its tone (the colour of its badge). */
const STATUS: Record<TAssetStatus, { label: string; tone: "neutral" | "info" | "ok" | "danger" | "muted"; hint: string }> = {
  PENDING_UPLOAD: {
    label: "Incomplete",
    tone: "neutral",
    hint: "The file has not been fully sent yet; adding the same file again resumes it.",
  },
  UPLOADED: { label: "Waiting for scan", tone: "info", hint: "Received and verified; queued for the malware scan." },
  SCANNING: { label: "Scanning", tone: "info", hint: "The malware scanner is reading the file." },
  CLEAN: { label: "Clean", tone: "ok", hint: "No threat found; the file can be downloaded." },
  QUARANTINED: { label: "Quarantined", tone: "danger", hint: "A threat was found or the file could not be scanned; it is never served." },
  FAILED: { label: "Failed", tone: "danger", hint: "The upload or its scan failed; the file is not available." },
  DELETED: { label: "Deleted", tone: "muted", hint: "The file was removed." },
};

export function statusLabel(status: TAssetStatus): string {
  return STATUS[status].label;
}

export function AssetStatusBadge({ status }: { status: TAssetStatus }) {
  const { label, tone, hint } = STATUS[status];
  return (
    <span className={`status status-${tone}`} title={hint} data-status={status} data-testid="asset-status">
      {tone === "info" ? <span className="status-pulse" aria-hidden="true" /> : null}
      {label}
    </span>
  );
}

type Step = { label: string; state: "done" | "current" | "todo" | "bad" };

/** The pipeline of DESIGN §4 as three steps: received → scanned → verdict. */
function stepsOf(status: TAssetStatus): Step[] {
  switch (status) {
    case "PENDING_UPLOAD":
      return [
        { label: "Upload", state: "current" },
        { label: "Scan", state: "todo" },
        { label: "Verdict", state: "todo" },
      ];
    case "UPLOADED":
      return [
        { label: "Confirmed", state: "done" },
        { label: "Scan queued", state: "current" },
        { label: "Verdict", state: "todo" },
      ];
    case "SCANNING":
      return [
        { label: "Confirmed", state: "done" },
        { label: "Scanning", state: "current" },
        { label: "Verdict", state: "todo" },
      ];
    case "CLEAN":
      return [
        { label: "Confirmed", state: "done" },
        { label: "Scanned", state: "done" },
        { label: "Clean", state: "done" },
      ];
    case "QUARANTINED":
      return [
        { label: "Confirmed", state: "done" },
        { label: "Scanned", state: "done" },
        { label: "Quarantined", state: "bad" },
      ];
    case "FAILED":
      return [
        { label: "Upload", state: "done" },
        { label: "Failed", state: "bad" },
      ];
    case "DELETED":
      return [{ label: "Deleted", state: "todo" }];
  }
}

/** Compact progress through the pipeline; screen readers get the status in words. */
export function ProcessingSteps({ status }: { status: TAssetStatus }) {
  return (
    <ol className="steps" aria-label={`Processing: ${statusLabel(status)}`}>
      {stepsOf(status).map((step) => (
        <li key={step.label} className={`step step-${step.state}`}>
          {step.label}
        </li>
      ))}
    </ol>
  );
}
