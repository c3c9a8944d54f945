import { lookup } from "node:dns/promises";
import type { LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";

/**
 * SSRF guard of webhook targets. Only globally routable unicast addresses are allowed unless
 * `allowPrivate` (WEBHOOK_ALLOW_PRIVATE_TARGETS) is set: loopback, private, link-local (cloud
 * metadata at 169.254.169.254), CGNAT, multicast, unspecified and reserved ranges are refused.
 * The check runs when an endpoint is saved AND on every connection (see `guardedLookup`), so a DNS
 * name that later resolves to a private address (rebinding) is still refused.
 */
export function isAllowedAddress(address: string, allowPrivate: boolean): boolean {
  if (allowPrivate) return true;
  if (!ipaddr.isValid(address)) return false;
  // process() turns IPv4-mapped IPv6 (::ffff:127.0.0.1) into the IPv4 address it carries.
  return ipaddr.process(address).range() === "unicast";
}

export class WebhookTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebhookTargetError";
  }
}

/** Hostname without IPv6 brackets, as `URL` leaves them. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "");
}

/** Throws `WebhookTargetError` unless the URL is http(s), without credentials, and resolves only to allowed addresses. */
export async function assertWebhookTarget(rawUrl: string, allowPrivate: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new WebhookTargetError("not a valid URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new WebhookTargetError("only http and https URLs are allowed");
  if (url.username || url.password) throw new WebhookTargetError("credentials in the URL are not allowed");
  const host = bareHost(url);
  const addresses = ipaddr.isValid(host)
    ? [host]
    : await lookup(host, { all: true, verbatim: true }).then(
        (rows) => rows.map((r) => r.address),
        () => {
          throw new WebhookTargetError(`${host} does not resolve`);
        },
      );
  const refused = addresses.find((a) => !isAllowedAddress(a, allowPrivate));
  if (refused) throw new WebhookTargetError(`${host} resolves to ${refused}, a private or reserved address (refused)`);
  return url;
}

/**
 * A `lookup` for node:http that refuses disallowed addresses at connection time. Node does not call
 * `lookup` for IP literals, so `assertWebhookTarget` must run before the request as well.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true, verbatim: true }).then(
      (rows) => {
        const refused = rows.find((r) => !isAllowedAddress(r.address, allowPrivate));
        if (refused) {
          callback(new WebhookTargetError(`${hostname} resolves to ${refused.address} (refused)`), "", 4);
          return;
        }
        if (options.all) callback(null, rows);
        else {
          const first = rows[0];
          if (!first) callback(new WebhookTargetError(`${hostname} does not resolve`), "", 4);
          else callback(null, first.address, first.family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, "", 4),
    );
  };
}
