import type { LiveStatus } from "../lib/live.ts";

const TEXT: Record<LiveStatus, { label: string; title: string }> = {
  live: { label: "Live", title: "Changes appear here as they happen." },
  connecting: { label: "Connecting…", title: "Connecting to live updates; the page refreshes when it reconnects." },
  offline: { label: "Live updates unavailable", title: "Could not open the live connection; reload the page to retry." },
};

/** A small badge saying whether the page is receiving live events. */
export function LiveIndicator({ status }: { status: LiveStatus }) {
  const { label, title } = TEXT[status];
  return (
    <span className={`live live-${status}`} title={title} role="status" aria-live="polite">
      <span className="live-dot" aria-hidden="true" />
      {label}
    </span>
  );
}
