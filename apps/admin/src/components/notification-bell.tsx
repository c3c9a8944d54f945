import "../notifications.css";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState } from "react";
import { describeError } from "../lib/errors.ts";
import { formatDate, formatWhen, isoDate } from "../lib/format.ts";
import { useLiveEvents } from "../lib/live.ts";
import { badgeText, describeNotification } from "../lib/notifications.ts";
import { useTRPC } from "../lib/trpc.ts";

/** Live events bring new notifications at once; this only catches what a dropped socket missed. */
const REFETCH_MS = 60_000;
const SHOWN = 10;

/**
 * The header's bell, for every signed-in user: the number of unread notifications, and a panel with the
 * latest ones to mark read one by one or all at once. New rows arrive over `events.notifications`.
 */
export function NotificationBell() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const root = useRef<HTMLDivElement>(null);
  const list = useQuery({ ...trpc.notifications.list.queryOptions({ limit: SHOWN }), refetchInterval: REFETCH_MS });
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.notifications.list.pathKey() });
  useLiveEvents("notifications", (event) => {
    if (event.type === "notification.created") void refresh();
  });
  const markRead = useMutation(trpc.notifications.markRead.mutationOptions({ onSettled: () => void refresh() }));
  const markAll = useMutation(trpc.notifications.markAllRead.mutationOptions({ onSettled: () => void refresh() }));
  const preferences = useQuery({ ...trpc.notifications.preferences.queryOptions(), enabled: open });
  const preferencesKey = trpc.notifications.preferences.queryKey();
  // The box shows the choice at once (a controlled checkbox must change in its own event); a failed save
  // puts the stored value back and says why.
  const [chosenOptOut, setChosenOptOut] = useState<boolean | null>(null);
  const updatePreferences = useMutation(
    trpc.notifications.updatePreferences.mutationOptions({
      onSuccess: (saved) => queryClient.setQueryData(preferencesKey, saved),
      onError: () => setChosenOptOut(null),
    }),
  );
  useEffect(() => {
    if (chosenOptOut !== null && preferences.data?.emailOptOut === chosenOptOut) setChosenOptOut(null);
  }, [chosenOptOut, preferences.data]);

  // Close on Escape (focus back on the bell) and on a click anywhere else.
  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== "Escape") return;
      setOpen(false);
      root.current?.querySelector<HTMLButtonElement>(".bell-button")?.focus();
    };
    const onPointer = (event: PointerEvent) => {
      if (root.current && !root.current.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("pointerdown", onPointer);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("pointerdown", onPointer);
    };
  }, [open]);

  const unread = list.data?.unreadCount ?? 0;
  const badge = badgeText(unread);
  const failed = markRead.error ?? markAll.error ?? updatePreferences.error ?? preferences.error;
  const emailOptOut = chosenOptOut ?? preferences.data?.emailOptOut;

  return (
    <div className="bell" ref={root}>
      <button
        type="button"
        className="button button-quiet bell-button"
        aria-expanded={open}
        aria-controls={panelId}
        aria-label={unread ? `Notifications, ${unread} unread` : "Notifications"}
        onClick={() => setOpen((o) => !o)}
      >
        <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
          <path
            d="M12 3a6 6 0 0 0-6 6v3.6L4.3 15.5A1 1 0 0 0 5.2 17h13.6a1 1 0 0 0 .9-1.5L18 12.6V9a6 6 0 0 0-6-6Zm0 19a3 3 0 0 0 2.8-2H9.2A3 3 0 0 0 12 22Z"
            fill="currentColor"
          />
        </svg>
        {badge ? (
          <span className="bell-badge" data-testid="bell-badge">
            {badge}
          </span>
        ) : null}
      </button>
      {open ? (
        <section className="bell-panel" id={panelId} aria-label="Notifications">
          <header className="bell-header">
            <h2>Notifications</h2>
            <button
              type="button"
              className="button button-small"
              disabled={unread === 0 || markAll.isPending}
              onClick={() => markAll.mutate()}
            >
              Mark all read
            </button>
          </header>
          {failed ? (
            <p className="form-error" role="alert">
              {describeError(failed)}
            </p>
          ) : null}
          {list.isPending ? (
            <p className="bell-state" role="status">
              Loading notifications…
            </p>
          ) : list.isError ? (
            <p className="bell-state form-error" role="alert">
              Could not load notifications. {describeError(list.error)}
            </p>
          ) : list.data.items.length === 0 ? (
            <p className="bell-state">No notifications yet. Finished scans and alerts show up here.</p>
          ) : (
            <ul className="bell-list">
              {list.data.items.map((n) => {
                const t = describeNotification(n.type, n.payload);
                return (
                  <li key={n.id} className={n.readAt ? "bell-item" : "bell-item bell-unread"} data-notification-type={n.type}>
                    <span className={`bell-dot bell-dot-${t.tone}`} aria-hidden="true" />
                    <div className="bell-text">
                      <p className="bell-title">
                        {t.title}
                        {n.readAt ? null : <span className="visually-hidden"> (unread)</span>}
                      </p>
                      {t.detail ? <p className="bell-detail">{t.detail}</p> : null}
                      <time className="bell-time" dateTime={isoDate(n.createdAt)} title={formatDate(n.createdAt)}>
                        {formatWhen(n.createdAt)}
                      </time>
                    </div>
                    {n.readAt ? null : (
                      <button
                        type="button"
                        className="link-button bell-mark"
                        disabled={markRead.isPending}
                        onClick={() => markRead.mutate({ ids: [n.id] })}
                        aria-label={`Mark "${t.title}" read`}
                      >
                        Mark read
                      </button>
                    )}
                  </li>
                );
              })}
            </ul>
          )}
          {list.data && list.data.unreadCount > list.data.items.filter((n) => !n.readAt).length ? (
            <p className="bell-more hint">
              {list.data.unreadCount} unread in all; the latest {SHOWN} are shown.
            </p>
          ) : null}
          <footer className="bell-footer">
            <label className="bell-preference">
              <input
                type="checkbox"
                checked={emailOptOut === false}
                // One save at a time: answers of two quick clicks could otherwise arrive out of order.
                disabled={emailOptOut === undefined || updatePreferences.isPending}
                aria-describedby={`${panelId}-mail-hint`}
                onChange={(event) => {
                  setChosenOptOut(!event.target.checked);
                  updatePreferences.mutate({ emailOptOut: !event.target.checked });
                }}
              />
              Email me when my uploads are scanned
            </label>
            <p className="hint" id={`${panelId}-mail-hint`}>
              Virus and alert mail is always sent.
            </p>
          </footer>
        </section>
      ) : null}
    </div>
  );
}
