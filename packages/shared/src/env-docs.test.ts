import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ZEnv } from "./env.ts";

describe("[ENV][DOCS]", () => {
  it("the README's configuration table names every variable the service reads", () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
    const table = readme.slice(readme.indexOf("## Configuration"));
    const missing = Object.keys(ZEnv.shape).filter((name) => !table.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
