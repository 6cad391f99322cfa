/**
 * The Slurm backend: one `sbatch` job array per submission, one array task per run. Each task runs
 * `deno run -A cli/sweep.ts task <sweep folder> $SLURM_ARRAY_TASK_ID` from the repository, which runs
 * `deno task experiment …` into the shared sweep folder and resumes from the run's latest checkpoint when
 * Slurm requeues it (`--requeue`: preemption, node failure) or it requeues itself after a signal ahead of
 * its time limit (`--signal=B:TERM@N` with `time`; see `requeueSlurmTask`). Progress comes from `squeue` (which keeps
 * finished jobs for the controller's MinJobAge) and, when accounting is on, `sacct`.
 * @module
 */
import { dirname, join } from "node:path";
import { REPO_ROOT } from "../grpo/mod.ts";
import { writeFileAtomic } from "../util/mod.ts";
import { UserError } from "../util/mod.ts";

/** Options of the Slurm backend (each one an `#SBATCH` line when set). */
export interface SlurmOptions {
  /** `--partition`. */
  partition?: string;
  /** `--time` (e.g. `02:00:00`). */
  time?: string;
  /** `--cpus-per-task` (also the runs' `threads` unless their options set it). */
  cpus_per_task?: number;
  /** `--mem` (e.g. `16G`). */
  mem?: string;
  /** `--gres` (e.g. `gpu:1`). */
  gres?: string;
  /** Further `#SBATCH` lines, without the prefix (e.g. `--qos=long`, `--account=lab`). */
  sbatch_lines?: string[];
  /** At most this many array tasks at once (`--array=…%N`). */
  max_parallel?: number;
  /**
   * Seconds before the time limit at which the task gets SIGTERM (`--signal=B:TERM@N`, default 120 when
   * `time` is set): the run checkpoints and the task requeues itself, resuming from that checkpoint.
   */
  signal_lead?: number;
}

const SLURM_FIELDS: Record<keyof SlurmOptions, "string" | "number" | "lines"> = {
  partition: "string",
  time: "string",
  cpus_per_task: "number",
  mem: "string",
  gres: "string",
  sbatch_lines: "lines",
  max_parallel: "number",
  signal_lead: "number",
};

/** Checks Slurm options given as plain data (a notebook parameter): unknown fields and bad types → UserError. */
export function checkSlurmOptions(raw: SlurmOptions | Record<string, unknown>): SlurmOptions {
  for (const [k, v] of Object.entries(raw)) {
    const kind = SLURM_FIELDS[k as keyof SlurmOptions];
    if (!kind) {
      throw new UserError(`slurm option "${k}" is unknown (known: ${Object.keys(SLURM_FIELDS).join(", ")})`);
    }
    const ok = v === undefined ||
      (kind === "number"
        ? Number.isInteger(v) && (v as number) > 0
        : kind === "string"
        ? typeof v === "string" && v !== ""
        : Array.isArray(v) && v.every((x) => typeof x === "string"));
    if (!ok) {
      throw new UserError(
        `slurm option ${k} = ${JSON.stringify(v)}: expected ${
          kind === "lines"
            ? "a list of strings"
            : kind === "number"
            ? "a positive integer"
            : "a non-empty string"
        }`,
      );
    }
  }
  return raw as SlurmOptions;
}

/** Where Slurm has an array task. */
export interface SlurmTaskState {
  /** Slurm's state (`PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `CANCELLED`, `TIMEOUT`, …). */
  state: string;
  /** Slurm's reason (pending reason, or why it ended), "" when none. */
  reason: string;
  /** `ExitCode` (`code:signal`) when known. */
  exitCode?: string;
}

/** Whether `name` is an executable on the PATH. */
export function onPath(name: string): boolean {
  for (const d of (Deno.env.get("PATH") ?? "").split(":").filter(Boolean)) {
    try {
      const s = Deno.statSync(join(d, name));
      if (s.isFile && ((s.mode ?? 0o111) & 0o111)) return true;
    } catch { /* not here */ }
  }
  return false;
}

/** A one-line error unless Slurm's client tools are on the PATH. */
export function requireSlurm(): void {
  if (!onPath("sbatch")) {
    throw new UserError("sweep: --backend slurm needs Slurm's sbatch, and there is no sbatch on the PATH");
  }
}

/** `--array` value for indices: ranges compressed (`0-3,7,9-10`), with `%max` when given. */
export function arraySpec(indices: readonly number[], max?: number): string {
  const s = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(",") + (max ? `%${max}` : "");
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The batch script of one submission (the array task index is the run's index in `sweep.json`). */
export function slurmBatchScript(
  sweepDir: string,
  options: { indices: readonly number[]; name: string; slurm?: SlurmOptions },
): string {
  const o = options.slurm ?? {};
  const lines = [
    "#!/bin/bash",
    `#SBATCH --job-name=${options.name}`,
    `#SBATCH --array=${arraySpec(options.indices, o.max_parallel)}`,
    `#SBATCH --output=${join(sweepDir, "logs", "slurm-%A_%a.out")}`,
    "#SBATCH --open-mode=append",
    "#SBATCH --requeue",
    "#SBATCH --ntasks=1",
  ];
  if (o.partition) lines.push(`#SBATCH --partition=${o.partition}`);
  if (o.time) {
    lines.push(`#SBATCH --time=${o.time}`);
    // The batch shell is the sweep task (exec): it passes SIGTERM on to the run, then requeues itself.
    lines.push(`#SBATCH --signal=B:TERM@${o.signal_lead ?? 120}`);
  }
  if (o.cpus_per_task) lines.push(`#SBATCH --cpus-per-task=${o.cpus_per_task}`);
  if (o.mem) lines.push(`#SBATCH --mem=${o.mem}`);
  if (o.gres) lines.push(`#SBATCH --gres=${o.gres}`);
  for (const l of o.sbatch_lines ?? []) lines.push(`#SBATCH ${l.replace(/^#SBATCH\s+/, "")}`);
  lines.push(
    "# Written by `deno task sweep`: one array task per run of sweep.json; a requeued task resumes its run.",
    "set -euo pipefail",
    `export PATH=${quote(dirname(Deno.execPath()))}:"$PATH"`,
    `cd ${quote(REPO_ROOT)}`,
    `exec deno run -A cli/sweep.ts task ${quote(sweepDir)} "$SLURM_ARRAY_TASK_ID"${
      o.cpus_per_task ? ` --threads ${o.cpus_per_task}` : ""
    }`,
    "",
  );
  return lines.join("\n");
}

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string; err: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { ok: r.success, out: dec.decode(r.stdout), err: dec.decode(r.stderr).trim() };
  } catch (e) {
    return { ok: false, out: "", err: (e as Error).message };
  }
}

/** Writes the batch script to `logs/` and submits it with `sbatch`; returns the array job id. */
export async function submitSlurm(
  sweepDir: string,
  options: { indices: readonly number[]; name: string; slurm?: SlurmOptions },
): Promise<string> {
  requireSlurm();
  const script = slurmBatchScript(sweepDir, options);
  const path = join(sweepDir, "logs", `submit-${Date.now()}.sbatch`);
  await writeFileAtomic(path, script);
  const r = await run("sbatch", ["--parsable", path]);
  const job = r.out.trim().split(";")[0];
  if (!r.ok || !/^\d+$/.test(job)) {
    throw new UserError(`sweep: sbatch ${path} failed: ${(r.err || r.out).split("\n")[0] || "no job id"}`);
  }
  return job;
}

/**
 * Inside a Slurm task that a signal stopped: requeues the task (`scontrol requeue $SLURM_JOB_ID`) when Slurm
 * still has it running (a signal ahead of the time limit, or `scancel --signal=TERM`), so it starts again
 * and resumes from the checkpoint just written. A task being cancelled, requeued or ended is left alone.
 * Returns what it did (a line for the task's log), or null outside Slurm.
 */
export async function requeueSlurmTask(): Promise<string | null> {
  const id = Deno.env.get("SLURM_JOB_ID");
  if (!id || !onPath("scontrol")) return null;
  const q = await run("squeue", ["-h", "-j", id, "-o", "%T"]);
  const state = q.out.trim().split("\n")[0];
  if (!q.ok || state !== "RUNNING") return `not requeued (Slurm has job ${id} as ${state || "unknown"})`;
  const r = await run("scontrol", ["requeue", id]);
  return r.ok
    ? `requeued job ${id}: it resumes from its checkpoint`
    : `scontrol requeue ${id} failed: ${r.err}`;
}

/**
 * Where Slurm has each array task of `jobs`, keyed `<job>_<index>`: from `squeue --me --states=all` (pending,
 * running, and finished within the controller's MinJobAge), then `sacct` for what squeue no longer lists
 * (when accounting is on). Null when `squeue` itself fails (controller unreachable): states unknown.
 */
export async function slurmStates(jobs: readonly string[]): Promise<Map<string, SlurmTaskState> | null> {
  const out = new Map<string, SlurmTaskState>();
  if (!jobs.length) return out;
  const mine = new Set(jobs);
  const q = await run("squeue", ["-h", "-r", "--me", "--states=all", "-o", "%i|%T|%r"]);
  if (!q.ok) return null;
  for (const line of q.out.split("\n")) {
    const [id, state, reason] = line.trim().split("|");
    if (id && state && mine.has(id.split("_")[0])) {
      out.set(id, { state, reason: reason === "None" ? "" : reason ?? "" });
    }
  }
  const a = await run("sacct", ["-n", "-P", "-X", "-j", jobs.join(","), "-o", "JobID,State,ExitCode,Reason"]);
  if (a.ok) {
    for (const line of a.out.split("\n")) {
      const [id, state, exitCode, reason] = line.trim().split("|");
      if (!id || !state || out.has(id) || !/_\d+$/.test(id)) continue;
      out.set(id, { state: state.split(" ")[0], reason: reason === "None" ? "" : reason ?? "", exitCode });
    }
  }
  return out;
}

/** Slurm states of a task still in the queue or on a node. */
export const SLURM_PENDING = [
  "PENDING",
  "REQUEUED",
  "REQUEUE_FED",
  "REQUEUE_HOLD",
  "RESV_DEL_HOLD",
  "CONFIGURING",
];
/** Slurm states of a running task. */
export const SLURM_RUNNING = ["RUNNING", "COMPLETING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "RESIZING"];

/**
 * A run's state from Slurm's view of its task and the task's own `error:` line: pending (with Slurm's
 * reason, e.g. `Resources`, `BeginTime`), running, or failed with the reason (`TIMEOUT`, `CANCELLED`,
 * `OUT_OF_MEMORY`, `NODE_FAIL`, … and the run's error line when it wrote one). Only for a run whose folder
 * is not complete, or whose task is still queued.
 */
export function slurmRunState(
  q: SlurmTaskState,
  recordError?: string,
): { state: "pending" | "running" | "failed"; reason?: string } {
  if (SLURM_PENDING.includes(q.state)) return { state: "pending", reason: q.reason || undefined };
  if (SLURM_RUNNING.includes(q.state)) return { state: "running" };
  const slurmWhy = q.state === "COMPLETED" || q.state === "FAILED" ? "" : q.state;
  const runWhy = recordError ?? (q.state === "COMPLETED" ? "task ended but the run is incomplete" : "");
  const reason = [slurmWhy, runWhy].filter(Boolean).join(": ") ||
    `${q.state}${q.exitCode ? ` (exit ${q.exitCode})` : q.reason ? ` (${q.reason})` : ""}`;
  return { state: "failed", reason };
}
