import "../files.css";
import "../webhooks.css";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ConfirmDialog } from "../components/dialog.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { SecretReveal } from "../components/secret-reveal.tsx";
import { EmptyState, ErrorState, LoadingState } from "../components/states.tsx";
import { WebhookDeliveries } from "../components/webhook-deliveries.tsx";
import { WebhookForm, type WebhookFormValue } from "../components/webhook-form.tsx";
import { describeError } from "../lib/errors.ts";
import { formatCount, formatDate, formatWhen, isoDate } from "../lib/format.ts";
import { useTRPC } from "../lib/trpc.ts";
import { disabledReason, eventsLabel, knownEvents, type WebhookEndpoint } from "../lib/webhooks.ts";

/** A secret just made, shown once: at creation or after a rotation (with the old secret's overlap end). */
type Revealed =
  | { kind: "created"; url: string; secret: string }
  | { kind: "rotated"; url: string; secret: string; overlapUntil: Date | null };

/**
 * Webhook endpoints (administrators): the list with each endpoint's state, create / edit / enable /
 * disable / rotate the secret / delete, and the delivery log of the chosen endpoint with replay.
 */
export function WebhooksPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const endpoints = useQuery({ ...trpc.webhooks.list.queryOptions(), refetchInterval: 15_000 });
  const events = useQuery(trpc.webhooks.events.queryOptions());
  const [form, setForm] = useState<{ mode: "create" } | { mode: "edit"; endpoint: WebhookEndpoint } | null>(null);
  const [revealed, setRevealed] = useState<Revealed | null>(null);
  const [chosen, setChosen] = useState<string | null>(null);
  const [rotating, setRotating] = useState<WebhookEndpoint | null>(null);
  const [deleting, setDeleting] = useState<WebhookEndpoint | null>(null);
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.webhooks.pathKey() });

  const create = useMutation(
    trpc.webhooks.create.mutationOptions({
      onSuccess: ({ endpoint, secret }) => {
        setForm(null);
        setRevealed({ kind: "created", url: endpoint.url, secret });
        setChosen(endpoint.id);
        void refresh();
      },
    }),
  );
  const update = useMutation(
    trpc.webhooks.update.mutationOptions({
      onSuccess: (endpoint) => {
        setForm(null);
        setMessage({ text: `Saved ${endpoint.url}.`, bad: false });
        void refresh();
      },
      onError: (error) => setMessage({ text: describeError(error), bad: true }),
    }),
  );
  const rotate = useMutation(
    trpc.webhooks.rotateSecret.mutationOptions({
      onSuccess: ({ endpoint, secret }) => {
        setRotating(null);
        setRevealed({
          kind: "rotated",
          url: endpoint.url,
          secret,
          overlapUntil: endpoint.previousSecretExpiresAt ? new Date(endpoint.previousSecretExpiresAt) : null,
        });
        void refresh();
      },
    }),
  );
  const remove = useMutation(
    trpc.webhooks.delete.mutationOptions({
      onSuccess: ({ id }) => {
        setMessage({ text: `Deleted ${deleting?.url ?? "the endpoint"} and its delivery log.`, bad: false });
        setDeleting(null);
        if (chosen === id) setChosen(null);
        void refresh();
      },
    }),
  );

  const list = endpoints.data ?? [];
  const selected = list.find((e) => e.id === chosen) ?? null;

  function save(value: WebhookFormValue) {
    if (form?.mode === "edit") update.mutate({ id: form.endpoint.id, ...value });
    else create.mutate(value);
  }

  return (
    <>
      <PageHeader
        title="Webhooks"
        description="Endpoints that receive signed event notifications (Standard Webhooks), and the delivery history of each."
        actions={
          form ? null : (
            <button
              type="button"
              className="button button-primary"
              onClick={() => {
                create.reset();
                setMessage(null);
                setForm({ mode: "create" });
              }}
            >
              Add endpoint
            </button>
          )
        }
      />
      {revealed ? (
        <SecretReveal
          title={revealed.kind === "created" ? `Signing secret of ${revealed.url}` : `New signing secret of ${revealed.url}`}
          secret={revealed.secret}
          onDone={() => setRevealed(null)}
        >
          {revealed.kind === "rotated" ? (
            <p>
              Until {revealed.overlapUntil ? formatDate(revealed.overlapUntil) : "the overlap window ends"}, deliveries carry two
              signatures, one with the previous secret and one with this one, so the receiver keeps working while you switch it to the new
              secret. After that only the new secret signs.
            </p>
          ) : null}
        </SecretReveal>
      ) : null}
      {form ? (
        <WebhookForm
          // Keys are shared by all the siblings of this fragment: prefix them (the deliveries use the id too).
          key={form.mode === "edit" ? `edit-${form.endpoint.id}` : "new"}
          title={form.mode === "edit" ? "Edit endpoint" : "New endpoint"}
          initial={
            form.mode === "edit"
              ? { url: form.endpoint.url, events: knownEvents(form.endpoint.events, events.data ?? []), active: form.endpoint.active }
              : { url: "", events: [], active: true }
          }
          events={events.data ?? []}
          submitLabel={form.mode === "edit" ? "Save changes" : "Create endpoint"}
          busy={create.isPending || update.isPending}
          error={form.mode === "create" && create.isError ? describeError(create.error) : null}
          onSubmit={save}
          onCancel={() => setForm(null)}
        />
      ) : null}
      {message ? (
        <p className={message.bad ? "form-error" : "success-note"} role={message.bad ? "alert" : "status"}>
          {message.text}
        </p>
      ) : null}

      {endpoints.isPending ? (
        <LoadingState label="Loading endpoints…" />
      ) : endpoints.isError ? (
        <ErrorState error={endpoints.error} title="Could not load the webhook endpoints" onRetry={() => void endpoints.refetch()} />
      ) : list.length === 0 ? (
        <EmptyState title="No webhook endpoints">
          <p>Add an endpoint to have Airlock POST signed events (clean, quarantined, failed uploads, alerts, cleanup runs) to it.</p>
        </EmptyState>
      ) : (
        <div className="table-wrap panel">
          <table className="table">
            <caption className="visually-hidden">Webhook endpoints</caption>
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col">Events</th>
                <th scope="col">State</th>
                <th scope="col" className="numeric">
                  Failures in a row
                </th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((endpoint) => {
                const reason = disabledReason(endpoint);
                return (
                  <tr key={endpoint.id} data-endpoint-id={endpoint.id} className={endpoint.id === chosen ? "row-selected" : undefined}>
                    <td className="wrap">
                      <span className="cell-primary mono webhook-url">{endpoint.url}</span>
                      <span className="cell-secondary">
                        added{" "}
                        <time dateTime={isoDate(endpoint.createdAt)} title={formatDate(endpoint.createdAt)}>
                          {formatWhen(endpoint.createdAt)}
                        </time>
                        {endpoint.previousSecretExpiresAt && new Date(endpoint.previousSecretExpiresAt) > new Date()
                          ? ` · previous secret signs until ${formatWhen(endpoint.previousSecretExpiresAt)}`
                          : ""}
                      </span>
                    </td>
                    <td className="wrap">
                      <span className="webhook-events">{eventsLabel(endpoint.events)}</span>
                    </td>
                    <td>
                      <span className={`badge ${endpoint.active ? "badge-ok" : "badge-danger"}`}>
                        {endpoint.active ? "Active" : "Disabled"}
                      </span>
                      {reason ? <span className="cell-secondary">{reason}</span> : null}
                    </td>
                    <td className={`numeric ${endpoint.failureCount === 0 ? "count-zero" : "count-failed"}`}>
                      {formatCount(endpoint.failureCount)}
                    </td>
                    <td className="actions">
                      <button
                        type="button"
                        className="button button-small"
                        aria-pressed={endpoint.id === chosen}
                        aria-label={`Deliveries of ${endpoint.url}`}
                        onClick={() => setChosen(endpoint.id)}
                      >
                        Deliveries
                      </button>
                      <button
                        type="button"
                        className="button button-small"
                        aria-label={`Edit ${endpoint.url}`}
                        onClick={() => {
                          update.reset();
                          setMessage(null);
                          setForm({ mode: "edit", endpoint });
                        }}
                      >
                        Edit
                      </button>
                      <button
                        type="button"
                        className="button button-small"
                        aria-label={`${endpoint.active ? "Disable" : "Enable"} ${endpoint.url}`}
                        disabled={update.isPending}
                        onClick={() => {
                          setMessage(null);
                          update.mutate({ id: endpoint.id, active: !endpoint.active });
                        }}
                      >
                        {endpoint.active ? "Disable" : "Enable"}
                      </button>
                      <button
                        type="button"
                        className="button button-small"
                        aria-label={`Rotate the secret of ${endpoint.url}`}
                        onClick={() => {
                          rotate.reset();
                          setRotating(endpoint);
                        }}
                      >
                        Rotate secret
                      </button>
                      <button
                        type="button"
                        className="button button-small button-danger-quiet"
                        aria-label={`Delete ${endpoint.url}`}
                        onClick={() => {
                          remove.reset();
                          setDeleting(endpoint);
                        }}
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      {selected ? <WebhookDeliveries key={`deliveries-${selected.id}`} endpoint={selected} /> : null}

      <ConfirmDialog
        open={rotating !== null}
        title="Rotate the signing secret?"
        confirmLabel="Rotate secret"
        busyLabel="Rotating…"
        tone="primary"
        busy={rotate.isPending}
        error={rotate.isError ? describeError(rotate.error) : null}
        onConfirm={() => rotating && rotate.mutate({ id: rotating.id })}
        onClose={() => setRotating(null)}
      >
        <p>
          A new secret is made for <span className="mono">{rotating?.url}</span> and shown once. For an overlap window (24 hours unless the
          server is configured otherwise) deliveries are signed with both the old and the new secret, so the receiver can switch without
          losing any.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this endpoint?"
        confirmLabel="Delete endpoint"
        busyLabel="Deleting…"
        busy={remove.isPending}
        error={remove.isError ? describeError(remove.error) : null}
        onConfirm={() => deleting && remove.mutate({ id: deleting.id })}
        onClose={() => setDeleting(null)}
      >
        <p>
          <span className="mono">{deleting?.url}</span> stops receiving events and its delivery log is deleted. This cannot be undone.
        </p>
      </ConfirmDialog>
    </>
  );
}
