/**
 * A sweep's folder and manifest. `<sweep>/sweep.json` lists the description, the backend, every run with
 * its state (`pending`, `running`, `done`, `failed` with a reason, `interrupted` by a signal: it resumes
 * from its checkpoint) and the scheduler jobs; it is written only by the sweep command (which holds the
 * folder's lock), atomically. Each task writes its own record, `<sweep>/logs/<run id>.json`
 * (state, attempt, exit code, the run's `error:` line), and appends the run's output to
 * `<sweep>/logs/<run id>.log`.
 * @module
 */
import { join } from "node:path";
import { writeJsonAtomic } from "../util/mod.ts";
import { holdsRun, listCheckpoints, runFile } from "../util/mod.ts";
import { UserError } from "../util/mod.ts";
import { checkSweepSpec, expandSweep, type SweepRun, type SweepSpec } from "./sweep_spec.ts";

/** Where a run stands. */
export type RunState = "pending" | "running" | "done" | "failed" | "interrupted";

/** A run in the manifest: the run, its state and where the scheduler has it. */
export interface ManifestRun extends SweepRun {
  /** Its folder, relative to the sweep folder. */
  dir: string;
  /** Where it stands. */
  state: RunState;
  /** Why it failed or was interrupted, or why it is pending (a scheduler reason); absent otherwise. */
  reason?: string;
  /** Scheduler id of its latest submission (`<job>_<index>` for Slurm). */
  job?: string;
  /** Steps logged so far / max_steps (from `trainer_state.json`). */
  steps?: number;
}

/** The manifest, `<sweep>/sweep.json`. */
export interface SweepManifest {
  /** Format version (1). */
  version: 1;
  /** The description the runs come from. */
  spec: SweepSpec;
  /** The backend that runs it: "local", "slurm" or "k8s" (emitted only). */
  backend: string;
  /** Every submission to a scheduler: job id, time and the run indices it holds. */
  submissions: { job: string; at: string; indices: number[] }[];
  /** Every run, in index order. */
  runs: ManifestRun[];
  /** When the manifest was last written. */
  updated: string;
}

/** The manifest's path. */
export const manifestPath = (sweepDir: string): string => join(sweepDir, "sweep.json");
/** A run's task record path. */
export const taskRecordPath = (sweepDir: string, id: string): string => join(sweepDir, "logs", `${id}.json`);
/** A run's output log path. */
export const taskLogPath = (sweepDir: string, id: string): string => join(sweepDir, "logs", `${id}.log`);

/** A new manifest for `spec` (every run pending). */
export function newManifest(spec: SweepSpec, backend: string): SweepManifest {
  return {
    version: 1,
    spec,
    backend,
    submissions: [],
    runs: expandSweep(spec).map((r) => ({ ...r, dir: r.id, state: "pending" as const })),
    updated: new Date().toISOString(),
  };
}

/** Reads `<sweepDir>/sweep.json`; a missing or bad one → UserError naming it. */
export async function readManifest(sweepDir: string): Promise<SweepManifest> {
  const path = manifestPath(sweepDir);
  let m: SweepManifest;
  try {
    m = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file (not a sweep folder)"
      : (e as Error).message;
    throw new UserError(`${path}: ${why.split("\n")[0]}`);
  }
  if (m?.version !== 1 || !Array.isArray(m.runs) || !m.spec) {
    throw new UserError(`${path}: not a sweep manifest (version 1 with spec and runs)`);
  }
  checkSweepSpec(m.spec);
  return m;
}

/** Writes the manifest atomically (stamping `updated`). */
export async function writeManifest(sweepDir: string, m: SweepManifest): Promise<void> {
  m.updated = new Date().toISOString();
  await writeJsonAtomic(manifestPath(sweepDir), m);
}

/**
 * Makes the sweep folder and its `logs/`, and checks it is writable: a folder that cannot be made or
 * written → one-line UserError naming it.
 */
export async function prepareSweepFolder(sweepDir: string): Promise<void> {
  try {
    await Deno.mkdir(join(sweepDir, "logs"), { recursive: true });
    const probe = join(sweepDir, `.write-test-${Deno.pid}`);
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (e) {
    throw new UserError(
      `sweep: output folder ${sweepDir} is not writable (${(e as Error).message.split("\n")[0]})`,
    );
  }
}

/** What a run folder holds. */
export interface RunFolderState {
  /** Whether the folder holds a run (run_config.json, metrics.jsonl or a checkpoint). */
  started: boolean;
  /** Last step in `trainer_state.json` (0 when absent). */
  step: number;
  /** max_steps from `trainer_state.json` (0 when absent). */
  maxSteps: number;
  /** Whether `trainer_state.json` says the run reached max_steps. */
  complete: boolean;
  /** Steps of the checkpoints present. */
  checkpoints: number[];
}

/** Inspects a run folder (a missing folder: nothing started). */
export async function runFolderState(dir: string): Promise<RunFolderState> {
  const started = await holdsRun(dir);
  let step = 0, maxSteps = 0;
  try {
    const s = JSON.parse(await Deno.readTextFile(runFile(dir, "trainerState")));
    step = Number(s.global_step) || 0;
    maxSteps = Number(s.max_steps) || 0;
  } catch { /* absent or being replaced: not complete */ }
  return {
    started,
    step,
    maxSteps,
    complete: maxSteps > 0 && step >= maxSteps,
    checkpoints: await listCheckpoints(dir),
  };
}

/** A task's own record of its latest attempt. */
export interface TaskRecord {
  /** Run id. */
  id: string;
  /** "running" while the task runs; "done", "failed" or "interrupted" (a signal) after. */
  state: "running" | "done" | "failed" | "interrupted";
  /** Attempts so far (a Slurm requeue or a resubmission adds one). */
  attempt: number;
  /** Exit code of `deno task experiment` (null while running or when killed). */
  exit_code: number | null;
  /** The run's `error:` line, or what ended it. */
  error: string | null;
  /** The checkpoint the attempt resumed from, if any. */
  resumed_from: string | null;
  /** Scheduler id (`$SLURM_ARRAY_JOB_ID_$SLURM_ARRAY_TASK_ID`, a pod name, or "local"). */
  job: string;
  /** Host and process id of the task. */
  host: string;
  /** Its process id. */
  pid: number;
  /** Start and end times (ISO). */
  started: string;
  /** End time (ISO), absent while running. */
  ended?: string;
}

/** A run's task record, or null when it never started. */
export async function readTaskRecord(sweepDir: string, id: string): Promise<TaskRecord | null> {
  try {
    return JSON.parse(await Deno.readTextFile(taskRecordPath(sweepDir, id)));
  } catch {
    return null;
  }
}

/** Writes a run's task record atomically. */
export async function writeTaskRecord(sweepDir: string, record: TaskRecord): Promise<void> {
  await writeJsonAtomic(taskRecordPath(sweepDir, record.id), record);
}

/**
 * Counts of runs per state, as one line: `4 runs: 2 done, 1 running, 1 pending, 0 failed` (and
 * `, 1 interrupted` when a signal stopped some).
 */
export function summaryLine(runs: readonly ManifestRun[]): string {
  const n = (s: RunState) => runs.filter((r) => r.state === s).length;
  return `${runs.length} runs: ${n("done")} done, ${n("running")} running, ${n("pending")} pending, ${
    n("failed")
  } failed${n("interrupted") ? `, ${n("interrupted")} interrupted` : ""}`;
}

/** One line per run: state, id, steps, reason. */
export function runLines(runs: readonly ManifestRun[]): string[] {
  return runs.map((r) =>
    `${r.state.padEnd(7)} ${r.id}${r.steps !== undefined ? ` (step ${r.steps})` : ""}${
      r.job ? ` [${r.job}]` : ""
    }${r.reason ? `: ${r.reason}` : ""}`
  );
}
