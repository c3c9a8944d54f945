import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_FILENAME_BYTES, sanitizeFilename } from "./filename.ts";

function safe(input: string): string {
  const verdict = sanitizeFilename(input);
  if (!verdict.ok) throw new Error(`expected ${JSON.stringify(input)} to be accepted: ${verdict.reason}`);
  return verdict.safeName;
}
function refused(input: string): string {
  const verdict = sanitizeFilename(input);
  if (verdict.ok) throw new Error(`expected ${JSON.stringify(input)} to be refused, got ${verdict.safeName}`);
  return verdict.reason;
}

describe("[UPLOADS][FILENAME]", () => {
  it.each([
    ["photo.jpg", "photo.jpg"],
    ["../../etc/passwd", "passwd"],
    ["..\\..\\windows\\win.ini", "win.ini"],
    ["/absolute/path/report.pdf", "report.pdf"],
    ["C:\\Users\\me\\report.pdf", "report.pdf"],
    ["  .hidden.txt  ", "hidden.txt"],
    ["tab\there.txt", "tabhere.txt"],
    ["what?<>|*.png", "what_____.png"],
    ["CON.txt", "_CON.txt"],
    ["lpt1", "_lpt1"],
    ["trailing dots...", "trailing dots"],
    ["zero\u200bwidth.txt", "zerowidth.txt"],
    ["café.png", "café.png"],
  ])("%j becomes %j", (input, expected) => {
    expect(safe(input)).toBe(expected);
  });

  it.each([
    ["", /empty/],
    ["...", /no usable characters/],
    ["/", /no usable characters/],
    ["nul\u0000.jpg", /NUL/],
    ["shell.php%00.jpg", /encoded control/],
    ["evil\u202egpj.exe", /bidirectional/],
    ["image.jpg.php", /\.php extension/],
    ["image.php.jpg", /\.php extension/],
    ["page.HTML", /\.html extension/],
    ["drawing.svg", /\.svg extension/],
    ["setup.exe", /\.exe extension/],
  ])("%j is refused", (input, reason) => {
    expect(refused(input)).toMatch(reason);
  });

  it("cuts long names to the byte limit without splitting characters, keeping the extension", () => {
    const name = `${"ü".repeat(300)}.png`;
    const result = safe(name);
    expect(new TextEncoder().encode(result).length).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
    expect(result.endsWith(".png")).toBe(true);
    expect(result).not.toContain("\ufffd");
  });

  it("never yields a name that could escape a folder or hide itself (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), (input) => {
        const verdict = sanitizeFilename(input);
        if (!verdict.ok) return;
        const { safeName } = verdict;
        expect(safeName.length).toBeGreaterThan(0);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting that no control character survives
        expect(safeName).not.toMatch(/[/\\<>:"|?*\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/u);
        expect(safeName.startsWith(".")).toBe(false);
        expect(safeName).not.toBe("..");
        expect(new TextEncoder().encode(safeName).length).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
        // Idempotent: a safe name stays as it is.
        expect(sanitizeFilename(safeName)).toEqual(verdict);
      }),
      { numRuns: 2000 },
    );
  });
});
