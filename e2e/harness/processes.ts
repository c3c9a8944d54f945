import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { onCleanup } from "./cleanup.ts";
import { LOG_DIR, REPO_ROOT } from "./paths.ts";

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves with the exit code (or signal) when the process leader exits. */
  exited: Promise<number | string | null>;
  /** The last lines of its combined stdout/stderr, for error messages. */
  logTail(lines?: number): Promise<string>;
}

const STOP_GRACE_MS = 5_000;
const live = new Set<number>();

// If the runner itself dies without teardown (crash, uncaught error), take the children with it.
// A process "exit" handler must be synchronous, hence SIGKILL and no waiting.
process.once("exit", () => {
  for (const pid of live) signalGroup(pid, "SIGKILL");
});

/**
 * Starts a long-running service of the stack (the API now, the worker later) from the repo root,
 * its output in `test-results/logs/<name>.log`, and registers its stop for teardown. It runs in a
 * process group of its own, so stopping it also stops what `npx`/`tsx` spawned underneath.
 */
export function startProcess(name: string, cmd: readonly string[], env: Record<string, string>): ManagedProcess {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(LOG_DIR, `${name}.log`);
  const log = createWriteStream(logFile);
  const [command, ...args] = cmd;
  if (!command) throw new Error(`startProcess(${name}): empty command`);
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // own process group: see stopGroup
  });
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${cmd.join(" ")}`);
  const pid = child.pid;
  live.add(pid);
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | string | null>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal));
    child.once("error", (error) => {
      log.write(`\n[e2e] failed to start: ${error.message}\n`);
      resolve(null);
    });
  });
  void exited.then(() => log.end());

  onCleanup(`stop ${name}`, () => stopGroup(name, child));
  return {
    name,
    pid,
    logFile,
    exited,
    async logTail(lines = 30) {
      const text = await readFile(logFile, "utf8").catch(() => "");
      return text.trimEnd().split("\n").slice(-lines).join("\n");
    },
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: nothing left in the group
  }
}

/** SIGTERM to the whole group, SIGKILL after STOP_GRACE_MS if anything in it is still alive. */
async function stopGroup(name: string, child: ChildProcess): Promise<void> {
  const pid = child.pid!;
  try {
    if (!signalGroup(pid, "SIGTERM")) return;
    const deadline = Date.now() + STOP_GRACE_MS;
    while (Date.now() < deadline) {
      if (!signalGroup(pid, 0)) return;
      await sleep(100);
    }
    process.stderr.write(`[e2e] ${name} still running ${STOP_GRACE_MS / 1000} s after SIGTERM: SIGKILL\n`);
    signalGroup(pid, "SIGKILL");
  } finally {
    live.delete(pid);
  }
}
