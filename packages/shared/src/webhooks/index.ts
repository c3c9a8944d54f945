import { randomBytes, randomUUID } from "node:crypto";
import type { Prisma, PrismaClient } from "@airlock/db";
import { AppError } from "../errors.ts";
import type { Queues } from "../queue-client.ts";
import { assertWebhookTarget, WebhookTargetError } from "./target.ts";

export { postWebhook, RESPONSE_EXCERPT_CHARS, signatureHeader } from "./deliver.ts";
export { assertWebhookTarget, guardedLookup, isAllowedAddress, WebhookTargetError } from "./target.ts";

/** Events an endpoint can subscribe to; an empty filter means all of them. */
export const WEBHOOK_EVENTS = [
  "asset.clean",
  "asset.quarantined",
  "asset.failed",
  "cleanup.completed",
  "alert.fired",
  "alert.resolved",
  "webhook.disabled",
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** What listings return: never the secret (it is shown once, at creation and rotation). */
export const endpointSelect = {
  id: true,
  url: true,
  events: true,
  active: true,
  failureCount: true,
  disabledAt: true,
  previousSecretExpiresAt: true,
  createdAt: true,
  updatedAt: true,
} as const;

interface Deps {
  db: PrismaClient;
  queues: Queues;
  allowPrivate: boolean;
}

async function checkedUrl(url: string, allowPrivate: boolean): Promise<string> {
  try {
    return (await assertWebhookTarget(url, allowPrivate)).toString();
  } catch (error) {
    if (error instanceof WebhookTargetError)
      throw new AppError("BAD_REQUEST", `webhook URL refused: ${error.message}`, { details: { field: "url" } });
    throw error;
  }
}

export async function createEndpoint(deps: Deps, input: { url: string; events: string[]; active?: boolean }) {
  const url = await checkedUrl(input.url, deps.allowPrivate);
  const secret = generateWebhookSecret();
  const endpoint = await deps.db.webhookEndpoint.create({
    data: { url, events: input.events, active: input.active ?? true, secret },
    select: endpointSelect,
  });
  return { endpoint, secret };
}

/** Re-activating an endpoint clears its failure streak. */
export async function updateEndpoint(deps: Deps, input: { id: string; url?: string; events?: string[]; active?: boolean }) {
  const url = input.url === undefined ? undefined : await checkedUrl(input.url, deps.allowPrivate);
  return deps.db.webhookEndpoint.update({
    where: { id: input.id },
    data: {
      url,
      events: input.events,
      active: input.active,
      ...(input.active === true ? { failureCount: 0, disabledAt: null } : {}),
      ...(input.active === false ? { disabledAt: new Date() } : {}),
    },
    select: endpointSelect,
  });
}

/** A new secret; the old one keeps signing (as a second signature) for `overlapHours`. */
export async function rotateEndpointSecret(deps: Pick<Deps, "db">, id: string, overlapHours: number) {
  const current = await deps.db.webhookEndpoint.findUniqueOrThrow({ where: { id }, select: { secret: true } });
  const secret = generateWebhookSecret();
  const endpoint = await deps.db.webhookEndpoint.update({
    where: { id },
    data: { secret, previousSecret: current.secret, previousSecretExpiresAt: new Date(Date.now() + overlapHours * 3600_000) },
    select: endpointSelect,
  });
  return { endpoint, secret };
}

/** The secrets a delivery is signed with now: the current one, and the previous one inside its overlap window. */
export function signingSecrets(
  endpoint: { secret: string; previousSecret: string | null; previousSecretExpiresAt: Date | null },
  now = new Date(),
) {
  const previous =
    endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now ? [endpoint.previousSecret] : [];
  return [endpoint.secret, ...previous];
}

/** Queues the first attempt of a delivery; retries are queued by the delivery processor. */
export async function enqueueDelivery(queues: Queues, deliveryId: string, attempt = 1, delayMs = 0) {
  await queues["webhook-delivery"].add(
    "deliver",
    { deliveryId },
    // One job per attempt: the row, not BullMQ, holds the attempt count and schedule.
    { jobId: `${deliveryId}-${attempt}`, delay: delayMs, attempts: 3 },
  );
}

/**
 * The body every endpoint receives (Standard Webhooks' recommended shape): `{ type, timestamp, data }`.
 * Stored on the delivery row as is, so a replay sends the very same content.
 */
export function webhookBody(event: string, data: Record<string, unknown>, at = new Date()) {
  return { type: event, timestamp: at.toISOString(), data };
}

/**
 * One delivery row and job per active endpoint subscribed to the event. Returns the delivery ids.
 *
 * `occurrence` names what is announced (the notifications job's id): the rows are written at once
 * and unique per endpoint and occurrence, so a retried fan-out (a crash or a Redis error after some
 * jobs were queued) finds the deliveries it already made instead of sending the event twice, and
 * queues only those not yet attempted (their job id makes that idempotent too).
 */
export async function fanOutWebhook(
  deps: Pick<Deps, "db" | "queues">,
  event: string,
  data: Record<string, unknown>,
  occurrence: string = randomUUID(),
): Promise<string[]> {
  const endpoints = await deps.db.webhookEndpoint.findMany({
    where: { active: true, OR: [{ events: { has: event } }, { events: { isEmpty: true } }] },
    select: { id: true },
  });
  if (endpoints.length === 0) return [];
  // Raw SQL, not createMany: Prisma 7 compiles every createMany afresh (~4 ms of CPU per event here).
  await deps.db.$executeRaw`
    INSERT INTO "WebhookDelivery" ("id", "endpointId", "event", "occurrence", "payload")
    SELECT gen_random_uuid(), e."endpointId", ${event}, ${occurrence}, ${JSON.stringify(webhookBody(event, data))}::jsonb
    FROM unnest(${endpoints.map((endpoint) => endpoint.id)}::uuid[]) AS e("endpointId")
    ON CONFLICT ("endpointId", "occurrence") DO NOTHING`;
  const deliveries = await deps.db.webhookDelivery.findMany({
    where: { occurrence, endpointId: { in: endpoints.map((endpoint) => endpoint.id) } },
    select: { id: true, attempt: true, status: true },
    orderBy: { createdAt: "asc" },
  });
  for (const delivery of deliveries) {
    if (delivery.attempt === 0 && delivery.status === "PENDING") await enqueueDelivery(deps.queues, delivery.id);
  }
  return deliveries.map((delivery) => delivery.id);
}

/** Sends a past delivery again, as a new delivery (the log of the original stays as it was). */
export async function replayDelivery(deps: Pick<Deps, "db" | "queues">, deliveryId: string) {
  const original = await deps.db.webhookDelivery.findUniqueOrThrow({
    where: { id: deliveryId },
    include: { endpoint: { select: { active: true } } },
  });
  if (!original.endpoint.active) throw new AppError("INVALID_STATE", "the endpoint is disabled; re-activate it before replaying");
  const delivery = await deps.db.webhookDelivery.create({
    data: { endpointId: original.endpointId, event: original.event, payload: original.payload as Prisma.InputJsonValue },
  });
  await enqueueDelivery(deps.queues, delivery.id);
  return delivery;
}
