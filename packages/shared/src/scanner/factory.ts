import type { Env } from "../env.ts";
import { ClamAvScanner } from "./clamav.ts";
import { MockScanner } from "./mock.ts";
import { type MultiEngine, MultiScanner } from "./multi.ts";
import type { VirusScanner } from "./types.ts";
import { VirusTotalScanner } from "./virustotal.ts";

type ScannerEnv = Pick<
  Env,
  | "SCANNER_PROVIDER"
  | "MOCK_SCANNER_PATTERNS"
  | "CLAMAV_HOST"
  | "CLAMAV_PORT"
  | "CLAMAV_SOCKET"
  | "CLAMAV_TIMEOUT_MS"
  | "CLAMAV_POOL_SIZE"
  | "CLAMAV_STREAM_MAX_LENGTH"
  | "VIRUSTOTAL_API_KEY"
  | "VIRUSTOTAL_URL"
  | "VIRUSTOTAL_MALICIOUS_THRESHOLD"
  | "VIRUSTOTAL_REQUESTS_PER_MINUTE"
  | "VIRUSTOTAL_POLL_INTERVAL_MS"
  | "MULTI_THRESHOLD"
  | "MULTI_MIN_ANSWERS"
  | "MULTI_CLAMAV_WEIGHT"
  | "MULTI_VIRUSTOTAL_WEIGHT"
  | "NODE_ENV"
>;

/**
 * Builds the scanner SCANNER_PROVIDER selects: one instance per call, so a process calls it once and
 * shares the result (the ClamAV connection limit and the VirusTotal rate limit live in that instance).
 * `multi` = ClamAV + VirusTotal (only when VIRUSTOTAL_API_KEY is set).
 */
export function createScanner(env: ScannerEnv): VirusScanner {
  switch (env.SCANNER_PROVIDER) {
    case "mock":
      return new MockScanner({ patterns: env.MOCK_SCANNER_PATTERNS, nodeEnv: env.NODE_ENV });
    case "clamav":
      return createClamAv(env);
    case "virustotal":
      return createVirusTotal(env);
    case "multi": {
      const engines: MultiEngine[] = [{ scanner: createClamAv(env), weight: env.MULTI_CLAMAV_WEIGHT }];
      if (env.VIRUSTOTAL_API_KEY) engines.push({ scanner: createVirusTotal(env), weight: env.MULTI_VIRUSTOTAL_WEIGHT });
      return new MultiScanner({ engines, threshold: env.MULTI_THRESHOLD, minAnswers: env.MULTI_MIN_ANSWERS });
    }
  }
}

function createClamAv(env: ScannerEnv): ClamAvScanner {
  const target = env.CLAMAV_SOCKET ? { socketPath: env.CLAMAV_SOCKET } : { host: env.CLAMAV_HOST, port: env.CLAMAV_PORT };
  return new ClamAvScanner(target, {
    timeoutMs: env.CLAMAV_TIMEOUT_MS,
    poolSize: env.CLAMAV_POOL_SIZE,
    streamMaxLength: env.CLAMAV_STREAM_MAX_LENGTH,
  });
}

function createVirusTotal(env: ScannerEnv): VirusTotalScanner {
  if (!env.VIRUSTOTAL_API_KEY) throw new Error("SCANNER_PROVIDER=virustotal needs VIRUSTOTAL_API_KEY");
  return new VirusTotalScanner({
    apiKey: env.VIRUSTOTAL_API_KEY,
    baseUrl: env.VIRUSTOTAL_URL,
    maliciousThreshold: env.VIRUSTOTAL_MALICIOUS_THRESHOLD,
    requestsPerMinute: env.VIRUSTOTAL_REQUESTS_PER_MINUTE,
    pollIntervalMs: env.VIRUSTOTAL_POLL_INTERVAL_MS,
  });
}
