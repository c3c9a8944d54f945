import { createTransport, type Transporter } from "nodemailer";
import type { Env } from "./env.ts";

export interface Mail {
  subject: string;
  text: string;
  html: string;
}

const transports = new WeakMap<Env, Transporter>();

/** One pooled SMTP transport per configuration; null when SMTP_URL is unset (email is off). */
export function mailTransport(env: Env): Transporter | null {
  if (!env.SMTP_URL) return null;
  let transport = transports.get(env);
  if (!transport) {
    transport = createTransport(env.SMTP_URL);
    transports.set(env, transport);
  }
  return transport;
}

export async function sendMail(env: Env, to: string, mail: Mail): Promise<boolean> {
  const transport = mailTransport(env);
  if (!transport) return false;
  await transport.sendMail({ from: env.MAIL_FROM, to, subject: mail.subject, text: mail.text, html: mail.html });
  return true;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Text and HTML from the same paragraphs; every interpolated value is escaped in the HTML part. */
function compose(subject: string, paragraphs: string[], publicUrl: string): Mail {
  const footer = `Airlock — ${publicUrl}`;
  return {
    subject,
    text: `${paragraphs.join("\n\n")}\n\n-- \n${footer}\n`,
    html: `<!doctype html><html><body style="font-family:sans-serif">${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join("")}<hr><p style="color:#666">${escapeHtml(footer)}</p></body></html>`,
  };
}

/** The mail of one event; `name` is the file's original name (as the user gave it: escaped in HTML). */
export function renderMail(event: string, data: Record<string, unknown>, publicUrl: string): Mail {
  const name = String(data.filename ?? "your file");
  switch (event) {
    case "asset.clean":
      return compose(`Upload complete: ${name}`, [`"${name}" was scanned and is clean.`, "It is now available for download."], publicUrl);
    case "asset.quarantined": {
      const threats = Array.isArray(data.threats) && data.threats.length ? data.threats.join(", ") : "unscannable content";
      return compose(
        `Virus detected: ${name}`,
        [
          `"${name}" was quarantined: ${threats}.`,
          "The file cannot be downloaded. If you believe this is a mistake, contact an administrator.",
        ],
        publicUrl,
      );
    }
    case "asset.failed":
      return compose(
        `Upload failed: ${name}`,
        [`"${name}" could not be scanned and is not available.`, "Please upload it again later."],
        publicUrl,
      );
    case "alert.fired":
      return compose(
        `[${String(data.severity)}] Alert: ${String(data.summary)}`,
        [`${String(data.summary)}`, `Value ${String(data.value)}, threshold ${String(data.threshold)}.`],
        publicUrl,
      );
    case "alert.resolved":
      return compose(`Resolved: ${String(data.summary)}`, [`${String(data.summary)} — resolved.`], publicUrl);
    case "webhook.disabled":
      return compose(
        `Webhook endpoint disabled: ${String(data.url)}`,
        [`The endpoint ${String(data.url)} failed ${String(data.failures)} times in a row and was disabled.`],
        publicUrl,
      );
    default:
      return compose(`Airlock: ${event}`, [JSON.stringify(data)], publicUrl);
  }
}
