import { execFileSync } from "node:child_process";
import { cpus } from "node:os";

/**
 * Shared by the benchmarks: interleaved rounds with the order rotated each round, medians, min–max
 * and the median of per-round ratios against a baseline (BENCHMARKING.md).
 */
export interface Variant {
  name: string;
  /** Not timed: prepares the data the timed part consumes. */
  setup?: () => Promise<void>;
  /** Timed. Returns the amount of work done (items, bytes) for the rate column. */
  run: () => Promise<number>;
}

export interface RoundResult {
  name: string;
  ms: number;
  work: number;
}

export async function runRounds(
  variants: Variant[],
  rounds: number,
  log = (line: string) => process.stderr.write(`${line}\n`),
): Promise<RoundResult[][]> {
  const all: RoundResult[][] = [];
  for (let round = 0; round < rounds; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant);
    const results: RoundResult[] = [];
    for (const variant of order) {
      await variant.setup?.();
      const started = performance.now();
      const work = await variant.run();
      const ms = performance.now() - started;
      results.push({ name: variant.name, ms, work });
      log(`round ${round + 1}/${rounds}  ${variant.name.padEnd(28)} ${ms.toFixed(0).padStart(8)} ms`);
    }
    all.push(results);
  }
  return all;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A markdown table: per variant median ms (min–max), rate, and the median per-round ratio to the baseline. */
export function table(rounds: RoundResult[][], baseline: string, unit: string): string {
  const names = rounds[0]?.map((r) => r.name).sort((a, b) => (a === baseline ? -1 : b === baseline ? 1 : a.localeCompare(b))) ?? [];
  const lines = [`| variant | median ms (min–max) | ${unit}/s | × baseline (median of per-round ratios) |`, "|---|---|---|---|"];
  for (const name of names) {
    const runs = rounds.map((round) => round.find((r) => r.name === name) as RoundResult);
    const ms = runs.map((r) => r.ms);
    const rates = runs.map((r) => (r.work / r.ms) * 1000);
    const ratios = rounds.map((round) => (round.find((r) => r.name === name)?.ms ?? 0) / (round.find((r) => r.name === baseline)?.ms ?? 1));
    lines.push(
      `| ${name} | ${median(ms).toFixed(0)} (${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)}) | ${median(rates).toFixed(0)} | ${name === baseline ? "1.00 (baseline)" : median(ratios).toFixed(2)} |`,
    );
  }
  return lines.join("\n");
}

export function machine(): string {
  const version = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8" }).trim().split("\n")[0];
    } catch {
      return "n/a";
    }
  };
  return `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), PostgreSQL ${version("psql", ["-V"])?.split(" ").pop()}, ${new Date().toISOString().slice(0, 10)}`;
}
