import { describe, expect, it } from "vitest";
import { badgeText, describeNotification } from "./notifications.ts";

describe("notification text", () => {
  it("names the file and what happened to it", () => {
    expect(describeNotification("asset.clean", { filename: "report.pdf" })).toEqual({
      title: "Upload complete",
      detail: "report.pdf was scanned and is clean.",
      tone: "ok",
    });
    expect(describeNotification("asset.quarantined", { filename: "x.exe", threats: ["Eicar-Test-Signature"] }).detail).toBe(
      "x.exe was quarantined: Eicar-Test-Signature.",
    );
    expect(describeNotification("asset.failed", { filename: "a.txt", failureCode: "scan_unavailable" }).detail).toBe(
      "a.txt could not be processed (scan unavailable).",
    );
  });

  it("alerts and webhooks read their summary; unknown types and odd payloads still render", () => {
    expect(describeNotification("alert.fired", { summary: "Scan queue is deep" })).toMatchObject({
      title: "Alert firing",
      detail: "Scan queue is deep",
    });
    expect(describeNotification("webhook.disabled", { url: "https://h.test/x", failures: 20 }).detail).toBe(
      "https://h.test/x was disabled after 20 failed attempts.",
    );
    expect(describeNotification("asset.clean", null).detail).toBe("a file was scanned and is clean.");
    expect(describeNotification("something.new", {})).toEqual({ title: "something.new", detail: "", tone: "info" });
  });

  it("badge text", () => {
    expect(badgeText(0)).toBeNull();
    expect(badgeText(3)).toBe("3");
    expect(badgeText(12)).toBe("9+");
  });
});
