import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The clamd of docker-compose.yml (untested: no Docker here) must scan with the limits of the clamd the tests
 * run (scripts/services/clamd.conf.in): a divergence — say AlertExceedsMax missing, which makes clamd answer
 * OK for an archive past its limits — would ship a setup that no test covers.
 */
const root = fileURLToPath(new URL("../../../../", import.meta.url));
/** Where and how the tests' clamd runs: paths, sockets, logs. Everything else is a scanning setting. */
const HOST_SPECIFIC = new Set([
  "DatabaseDirectory",
  "LocalSocket",
  "LocalSocketMode",
  "TCPAddr",
  "TCPSocket",
  "PidFile",
  "LogFile",
  "LogTime",
  "LogFileMaxSize",
  "TemporaryDirectory",
  "Foreground",
]);

function testedSettings(): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of readFileSync(`${root}scripts/services/clamd.conf.in`, "utf8").split("\n")) {
    const match = /^([A-Za-z]+)\s+(.+?)\s*$/.exec(line);
    if (match && !HOST_SPECIFIC.has(match[1]!)) settings.set(match[1]!, match[2]!);
  }
  return settings;
}

function composeSettings(): Map<string, string> {
  const compose = readFileSync(`${root}docker-compose.yml`, "utf8");
  const settings = new Map<string, string>();
  for (const match of compose.matchAll(/^\s+CLAMD_CONF_([A-Za-z]+):\s*"?([^"\n]+?)"?\s*$/gm)) settings.set(match[1]!, match[2]!);
  return settings;
}

describe("docker-compose's clamd", () => {
  it("scans with exactly the settings of the clamd the tests run", () => {
    const tested = testedSettings();
    expect(tested.get("AlertExceedsMax")).toBe("yes"); // the parse found the settings that matter
    expect(Object.fromEntries(composeSettings())).toEqual(Object.fromEntries(tested));
  });
});
