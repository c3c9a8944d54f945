import { renderMail, sendMail } from "@airlock/shared/mail";
import { fanOutWebhook } from "@airlock/shared/webhooks";
import type { Registration } from "../registry.ts";
import { notifyInApp } from "../services/in-app.ts";

/** Events that always reach admins and are mailed regardless of a user's opt-out. */
const SECURITY_EVENTS = new Set(["asset.quarantined", "alert.fired", "alert.resolved", "webhook.disabled"]);
/** Who hears of each event besides webhooks: the asset's owner, the administrators, or both. */
const AUDIENCE: Record<string, { owner: boolean; admins: boolean; inApp: boolean }> = {
  "asset.clean": { owner: true, admins: false, inApp: true },
  "asset.failed": { owner: true, admins: false, inApp: true },
  "asset.quarantined": { owner: true, admins: true, inApp: true },
  // alerts.ts writes the admins' in-app rows itself when the alert transitions.
  "alert.fired": { owner: false, admins: true, inApp: false },
  "alert.resolved": { owner: false, admins: true, inApp: false },
  "webhook.disabled": { owner: false, admins: true, inApp: true },
  "cleanup.completed": { owner: false, admins: false, inApp: false },
};

/** What already happened in earlier attempts of this job (BullMQ keeps `progress` across retries). */
interface Progress {
  inApp?: boolean;
  webhooks?: boolean;
  mailed?: string[];
}

/**
 * `notifications`: one announced event → in-app rows, email and webhook deliveries. Each step is
 * recorded in the job's progress, so a retry (e.g. the SMTP server was down) does not repeat the
 * steps that succeeded; rows are keyed by the job id (the occurrence), so a retry after a crash
 * between a write and its progress note does not write them twice either.
 */
export const notifyRegistration: Registration<"notifications"> = {
  concurrency: () => 4,
  async process(job, ctx) {
    const { event, assetId } = job.data;
    const audience = AUDIENCE[event] ?? { owner: false, admins: false, inApp: false };
    const progress: Progress = typeof job.progress === "object" && job.progress !== null ? { ...(job.progress as Progress) } : {};
    const save = () => job.updateProgress(progress as object);

    const asset = assetId ? await ctx.db.asset.findUnique({ where: { id: assetId } }) : null;
    const data: Record<string, unknown> = asset
      ? {
          assetId: asset.id,
          ownerId: asset.ownerId,
          filename: asset.originalName,
          status: asset.status,
          size: asset.size === null ? null : Number(asset.size),
          mime: asset.detectedMime ?? asset.declaredMime,
          sha256: asset.sha256,
          threats: asset.threats,
          failureCode: asset.failureCode,
          ...job.data.payload,
        }
      : { ...job.data.payload };
    const ownerId = asset?.ownerId ?? job.data.userId;

    const recipients = new Map<string, { id: string; email: string; emailOptOut: boolean }>();
    if (audience.owner && ownerId) {
      const owner = await ctx.db.user.findUnique({ where: { id: ownerId }, select: { id: true, email: true, emailOptOut: true } });
      if (owner) recipients.set(owner.id, owner);
    }
    if (audience.admins) {
      for (const admin of await ctx.db.user.findMany({ where: { role: "ADMIN" }, select: { id: true, email: true, emailOptOut: true } })) {
        recipients.set(admin.id, admin);
      }
    }

    if (!progress.webhooks) {
      await fanOutWebhook(ctx, event, data, String(job.id));
      progress.webhooks = true;
      await save();
    }
    if (audience.inApp && !progress.inApp && recipients.size) {
      await notifyInApp(ctx, [...recipients.keys()], { type: event, occurrence: String(job.id), payload: data });
      progress.inApp = true;
      await save();
    }
    const security = SECURITY_EVENTS.has(event);
    const mail = renderMail(event, data, ctx.env.PUBLIC_URL);
    const mailed = new Set(progress.mailed ?? []);
    for (const user of recipients.values()) {
      if (mailed.has(user.id) || (!security && user.emailOptOut)) continue;
      if (!(await sendMail(ctx.env, user.email, mail))) break; // email is not configured
      mailed.add(user.id);
      progress.mailed = [...mailed];
      await save();
    }
    return "success";
  },
};
