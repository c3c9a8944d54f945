import { type Logger, type LoggerOptions, pino } from "pino";

export type { Logger };

/**
 * Paths that can hold a secret in anything we log: keys, signatures, passwords. Redaction happens in
 * pino itself, so a careless `log.info({ req })` still prints `[redacted]`.
 */
export const redactPaths = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "headers.cookie",
  "*.headers.cookie",
  "apiKey",
  "*.apiKey",
  "key",
  "secret",
  "*.secret",
  "password",
  "*.password",
  "signature",
  "*.signature",
  "url",
  "*.url",
];

export function createLogger(options: { level: string; name: string } & Partial<LoggerOptions>): Logger {
  return pino({
    base: { service: options.name },
    redact: { paths: redactPaths, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...options,
  });
}
