import { describe, expect, it } from "vitest";
import { parseEnv } from "../env.ts";
import { ClamAvScanner } from "./clamav.ts";
import { createScanner } from "./factory.ts";
import { MockScanner } from "./mock.ts";
import { MultiScanner } from "./multi.ts";
import { VirusTotalScanner } from "./virustotal.ts";

describe("createScanner", () => {
  it("builds the mock by default outside production", () => {
    const scanner = createScanner(parseEnv({ NODE_ENV: "test", MOCK_SCANNER_PATTERNS: "foo,bar" }));
    expect(scanner).toBeInstanceOf(MockScanner);
  });

  it("refuses the mock in production even if the env check was bypassed", () => {
    const env = { ...parseEnv({ NODE_ENV: "test" }), NODE_ENV: "production" as const };
    expect(() => createScanner(env)).toThrow(/NODE_ENV=production/);
  });

  it("builds clamav over TCP or over the unix socket", async () => {
    const tcp = createScanner(parseEnv({ SCANNER_PROVIDER: "clamav", CLAMAV_HOST: "10.0.0.5", CLAMAV_PORT: "3311" }));
    expect(tcp).toBeInstanceOf(ClamAvScanner);
    expect((tcp as ClamAvScanner).address).toBe("10.0.0.5:3311");
    const unix = createScanner(parseEnv({ SCANNER_PROVIDER: "clamav", CLAMAV_SOCKET: "/run/clamd.sock" }));
    expect((unix as ClamAvScanner).address).toBe("unix:/run/clamd.sock");
  });

  it("builds virustotal only with an API key", async () => {
    expect(() => createScanner(parseEnv({ SCANNER_PROVIDER: "virustotal" }))).toThrow(/VIRUSTOTAL_API_KEY/);
    const vt = createScanner(parseEnv({ SCANNER_PROVIDER: "virustotal", VIRUSTOTAL_API_KEY: "k" }));
    expect(vt).toBeInstanceOf(VirusTotalScanner);
    expect(await vt.version()).toBe("VirusTotal v3");
  });

  it("builds multi from clamav, plus virustotal when a key is set", async () => {
    const withoutKey = createScanner(parseEnv({ SCANNER_PROVIDER: "multi", CLAMAV_SOCKET: "/nonexistent.sock", CLAMAV_TIMEOUT_MS: "500" }));
    expect(withoutKey).toBeInstanceOf(MultiScanner);
    await expect(withoutKey.version()).rejects.toThrow(/nonexistent/);
    const withKey = createScanner(
      parseEnv({ SCANNER_PROVIDER: "multi", VIRUSTOTAL_API_KEY: "k", CLAMAV_SOCKET: "/nonexistent.sock", CLAMAV_TIMEOUT_MS: "500" }),
    );
    // minAnswers 1: VirusTotal alone keeps it ready while clamd is down.
    await expect(withKey.health()).resolves.toBeUndefined();
  });
});
