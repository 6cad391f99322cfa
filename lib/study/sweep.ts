/**
 * Running a sweep (see {@linkcode SweepSpec}) on a backend:
 *
 * - `local`: the runs one after another on this machine, or `parallel` of them side by side with the
 *   machine's threads split between them;
 * - `slurm`: one `sbatch` job array, one task per run, followed through `squeue`/`sacct` until every run
 *   is done or failed (see `sweep_slurm.ts`).
 *
 * Both write `<sweep>/sweep.json` with every run's state, holding the sweep folder's lock (one sweep per
 * folder). `resume` continues a sweep: runs that are done are kept, runs still queued or running are left
 * alone, the rest (failed, interrupted, pending) are (re)started, resuming from their latest checkpoint.
 *
 * A local sweep stops on SIGINT (Ctrl-C) and SIGTERM alike: no new run starts, the running runs are told
 * to stop (they checkpoint), the manifest marks them `interrupted`, and the command exits 130 or 143.
 * @module
 */
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { acquireFolderLock, UserError } from "../util/mod.ts";
import {
  type ManifestRun,
  newManifest,
  prepareSweepFolder,
  readManifest,
  readTaskRecord,
  runFolderState,
  summaryLine,
  type SweepManifest,
  writeManifest,
  writeTaskRecord,
} from "./sweep_manifest.ts";
import { checkSweepSpec, sweepFolder, type SweepSpec } from "./sweep_spec.ts";
import { runSweepTask, SignalRelay, taskParams } from "./sweep_task.ts";
import {
  requireSlurm,
  SLURM_PENDING,
  SLURM_RUNNING,
  type SlurmOptions,
  slurmRunState,
  slurmStates,
  type SlurmTaskState,
  submitSlurm,
} from "./sweep_slurm.ts";

/** The backends. */
export type SweepBackend = "local" | "slurm";

/** Options of {@linkcode runSweep}. */
export interface RunSweepOptions {
  /** "local" (default) or "slurm". */
  backend?: SweepBackend;
  /** Continue the sweep already in the folder (its manifest must hold the same description). */
  resume?: boolean;
  /** Local: runs side by side (default 1). */
  parallel?: number;
  /** Local: threads in all (default: the machine's), split between the parallel runs. */
  threads?: number;
  /**
   * Local: trains one run in this process instead of `deno task experiment` (the notebook's live plots),
   * with the options {@linkcode taskParams} gives (its own, output_dir, and resume from its latest checkpoint).
   */
  runOne?: (run: ManifestRun, params: Record<string, unknown>) => Promise<void>;
  /** A folder holding another sweep gets this one's manifest (runs with the same id keep their state and jobs). */
  replace?: boolean;
  /** Slurm options. */
  slurm?: SlurmOptions;
  /** Slurm: follow the runs until none is pending or running (default true). */
  wait?: boolean;
  /** Slurm: seconds between polls (default 5). */
  poll?: number;
  /** Slurm: stop following after this many seconds (an error; the jobs keep running). */
  timeout?: number;
  /** Where progress lines go (default stderr). */
  log?: (line: string) => void;
  /** Folder a relative `output_dir` is resolved from (default the working folder). */
  cwd?: string;
}

/** The result: the sweep folder and its manifest (with every run's state). */
export interface SweepResult {
  /** The sweep folder (absolute). */
  dir: string;
  /** The manifest as last written. */
  manifest: SweepManifest;
  /** Local: a signal stopped the sweep before every run ended. */
  interrupted?: boolean;
  /** Local: the signal that stopped it ("SIGINT" or "SIGTERM"). */
  stoppedBy?: string;
}

/** JSON with object keys sorted, so two descriptions compare equal whatever order their options came in. */
const canonical = (v: unknown): string =>
  JSON.stringify(
    v,
    (_k, x) =>
      x && typeof x === "object" && !Array.isArray(x)
        ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : x,
  );
const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);
const pick = (r?: ManifestRun) => (r ? { state: r.state, job: r.job, reason: r.reason } : {});

/**
 * Checks the description, makes the folder and writes (or, with `resume`, re-reads) the manifest. A folder
 * that already holds a sweep needs `resume` (and keeps its backend); one that holds another sweep is
 * refused, or with `replace` gets this one's manifest.
 */
export async function openSweep(
  raw: unknown,
  options: { backend?: string; resume?: boolean; replace?: boolean; cwd?: string } = {},
): Promise<SweepResult> {
  const spec = checkSweepSpec(raw);
  const dir = sweepFolder(spec, options.cwd);
  await prepareSweepFolder(dir);
  if (existsSync(join(dir, "sweep.json"))) {
    const m = await readManifest(dir);
    const mine = { ...spec, output_dir: m.spec.output_dir };
    if (!same(m.spec, mine) && options.replace) {
      const next = newManifest(spec, m.backend);
      const old = new Map(m.runs.map((r) => [r.id, r]));
      next.runs = next.runs.map((r) => ({ ...r, ...pick(old.get(r.id)) }));
      next.submissions = m.submissions;
      await writeManifest(dir, next);
      return { dir, manifest: next };
    }
    if (!same(m.spec, mine)) {
      throw new UserError(
        `sweep: ${dir} already holds another sweep (see its sweep.json); choose another output folder`,
      );
    }
    if (!options.resume) {
      throw new UserError(
        `sweep: ${dir} already holds this sweep (${summaryLine(m.runs)}); continue it with --resume`,
      );
    }
    return { dir, manifest: m };
  }
  const manifest = newManifest(spec, options.backend ?? "local");
  await writeManifest(dir, manifest);
  return { dir, manifest };
}

function processGone(pid: number): boolean {
  return !existsSync(`/proc/${pid}`);
}

/**
 * The state of one run from its folder, its task record and (Slurm) the scheduler's view; `slurm` null:
 * squeue did not answer, so a run not complete keeps its last known state.
 */
async function refreshRun(
  dir: string,
  r: ManifestRun,
  slurm?: Map<string, SlurmTaskState> | null,
): Promise<void> {
  const folder = await runFolderState(join(dir, r.dir));
  r.steps = folder.step;
  if (slurm === null) {
    if (folder.complete && r.state !== "running") r.state = "done";
    return;
  }
  delete r.reason;
  const q = r.job ? slurm?.get(r.job) : undefined;
  const queued = q && (SLURM_PENDING.includes(q.state) || SLURM_RUNNING.includes(q.state));
  if (folder.complete && !queued) { // a task still on its node is running until it ends
    r.state = "done";
    return;
  }
  const rec = await readTaskRecord(dir, r.id);
  const mine = rec && (!r.job || rec.job === r.job || rec.job === "local");
  const recError = mine && rec.error ? rec.error : undefined;
  if (q) {
    const v = slurmRunState(q, recError);
    [r.state, r.reason] = [v.state, v.reason];
    return;
  }
  if (!rec || !mine) {
    r.state = r.job && slurm ? "failed" : "pending";
    if (r.state === "failed") r.reason = `Slurm no longer knows ${r.job} and the task never started`;
    else if (folder.started) r.reason = `stopped at step ${folder.step}`;
    return;
  }
  if (rec.state === "interrupted") {
    r.state = "interrupted";
    r.reason = rec.error ?? "interrupted by a signal";
    return;
  }
  if (rec.state === "running") {
    const lost = slurm ? true : rec.host === hostname() && processGone(rec.pid);
    r.state = lost ? "failed" : "running";
    if (lost) r.reason = `task ${rec.job} ended without a record (process gone)`;
  } else {
    r.state = "failed";
    r.reason = rec.state === "done" ? "task ended but the run is incomplete" : rec.error ?? rec.state;
  }
}

/** Recomputes every run's state (folders, task records and, for Slurm, squeue/sacct) and rewrites sweep.json. */
export async function refreshSweep(dir: string, manifest: SweepManifest): Promise<SweepManifest> {
  const jobs = [...new Set(manifest.submissions.map((s) => s.job))];
  const slurm = manifest.backend === "slurm" && jobs.length ? await slurmStates(jobs) : undefined;
  for (const r of manifest.runs) await refreshRun(dir, r, slurm);
  await writeManifest(dir, manifest);
  return manifest;
}

/** The sweep in `dir` with fresh states. */
export async function sweepStatus(dir: string): Promise<SweepManifest> {
  return await refreshSweep(dir, await readManifest(dir));
}

/**
 * Runs the sweep's unfinished runs on this machine; failures are recorded and do not stop the others. A
 * signal (SIGINT, SIGTERM) stops it: no new run starts, the running runs are passed SIGTERM (they write a
 * checkpoint and stop). Returns the signal, or null when every run ran.
 */
async function runLocal(dir: string, m: SweepManifest, o: RunSweepOptions): Promise<string | null> {
  const log = o.log ?? ((l: string) => console.error(l));
  const parallel = Math.max(1, Math.floor(o.parallel ?? 1));
  const total = o.threads ?? navigator.hardwareConcurrency ?? 1;
  const threads = parallel > 1 ? Math.max(1, Math.floor(total / parallel)) : o.threads;
  const todo = m.runs.filter((r) => r.state !== "done");
  if (parallel > 1) log(`sweep: ${todo.length} runs, ${parallel} side by side with ${threads} threads each`);
  let next = 0, writing = Promise.resolve(), stoppedBy: string | null = null;
  const save = () => (writing = writing.then(() => writeManifest(dir, m)));
  // Every signal is passed on to the running runs (a run takes repeats within a second as one request).
  const forward = new SignalRelay();
  const onSignal = (sig: Deno.Signal) => () => {
    if (stoppedBy === null) {
      log(`sweep: ${sig}: no new run starts; the running runs checkpoint and stop (continue with --resume)`);
    }
    stoppedBy ??= sig;
    forward.relay(sig);
  };
  // In-process runs (runOne) get the signal from the trainer's own handler; this one stops the sweep.
  const listen = Deno.build.os !== "windows";
  const handlers = (["SIGINT", "SIGTERM"] as const).map((sig) => [sig, onSignal(sig)] as const);
  if (listen) { for (const [sig, h] of handlers) Deno.addSignalListener(sig, h); }
  const inProcess = async (r: ManifestRun) => {
    const started = new Date().toISOString();
    let error: string | null = null;
    try {
      const t = await taskParams(r, join(dir, r.dir), { threads });
      if (!t.skip) await o.runOne!(r, t.params);
    } catch (e) {
      error = (e as Error).message.split("\n")[0];
    }
    const folder = await runFolderState(join(dir, r.dir));
    const state = folder.complete ? "done" : stoppedBy && !error ? "interrupted" : "failed";
    await writeTaskRecord(dir, {
      id: r.id,
      state,
      attempt: ((await readTaskRecord(dir, r.id))?.attempt ?? 0) + 1,
      exit_code: null,
      error: state === "done"
        ? null
        : state === "interrupted"
        ? `stopped by ${stoppedBy} at step ${folder.step}`
        : error ?? `stopped at step ${folder.step} (the run is incomplete)`,
      resumed_from: null,
      job: "local",
      host: hostname(),
      pid: Deno.pid,
      started,
      ended: new Date().toISOString(),
    });
  };
  const worker = async () => {
    while (next < todo.length && stoppedBy === null) {
      const r = todo[next++];
      r.state = "running";
      r.job = "local";
      delete r.reason;
      await save();
      log(`sweep: ${r.id} started`);
      if (o.runOne) await inProcess(r);
      else {
        await runSweepTask(dir, r.index, {
          threads,
          job: "local",
          echo: parallel > 1 ? null : undefined,
          forward,
        });
      }
      await refreshRun(dir, r);
      log(`sweep: ${r.id} ${r.state}${r.reason ? `: ${r.reason}` : ""} (${summaryLine(m.runs)})`);
      await save();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, todo.length) }, worker));
  } finally {
    if (listen) { for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h); }
  }
  await writing;
  return stoppedBy;
}

/** Follows a Slurm sweep until no run is pending or running; prints a line whenever the counts change. */
export async function followSweep(
  dir: string,
  options: { poll?: number; log?: (line: string) => void; timeoutMs?: number } = {},
): Promise<SweepManifest> {
  const log = options.log ?? ((l: string) => console.error(l));
  const deadline = Date.now() + (options.timeoutMs ?? Infinity);
  let last = "";
  while (true) {
    const m = await sweepStatus(dir);
    const line = summaryLine(m.runs);
    if (line !== last) log(`sweep: ${line}`);
    last = line;
    if (!m.runs.some((r) => r.state === "pending" || r.state === "running")) return m;
    if (Date.now() > deadline) {
      throw new UserError(`sweep: still ${line} after the time limit; follow with --status`);
    }
    await new Promise((res) => setTimeout(res, (options.poll ?? 5) * 1000));
  }
}

/**
 * Runs a sweep: writes its manifest, then runs it locally or submits it to Slurm (and follows it unless
 * `wait` is false). Returns the folder and the final manifest; failed runs are in it with their reasons.
 */
export async function runSweep(spec: unknown, options: RunSweepOptions = {}): Promise<SweepResult> {
  const asked = options.backend;
  if (asked !== undefined && asked !== "local" && asked !== "slurm") {
    throw new UserError(`sweep: unknown backend "${asked}" (local or slurm)`);
  }
  if (asked === "slurm") requireSlurm();
  const log = options.log ?? ((l: string) => console.error(l));
  const folder = sweepFolder(checkSweepSpec(spec), options.cwd);
  await prepareSweepFolder(folder);
  // One sweep per folder: held until the sweep returns (Slurm: after submitting, or after following).
  await using _lock = await acquireFolderLock(folder, { label: "sweep folder", what: "sweep", log });
  const { dir, manifest } = await openSweep(spec as SweepSpec, options);
  // A resumed sweep keeps its backend unless another is asked for; its runs' states come from the old one.
  await refreshSweep(dir, manifest);
  const backend = (asked ?? (manifest.backend === "slurm" ? "slurm" : "local")) as SweepBackend;
  if (backend === "slurm") requireSlurm();
  const busy = manifest.runs.filter((r) => (r.state === "running" || r.state === "pending") && r.job);
  if (backend !== manifest.backend && busy.some((r) => r.job !== "local")) {
    throw new UserError(
      `sweep: ${busy.length} runs of ${dir} are still queued or running on ${manifest.backend}; wait for them (--status) or resume with --backend ${manifest.backend}`,
    );
  }
  manifest.backend = backend;
  if (backend === "local") {
    const stoppedBy = await runLocal(dir, manifest, options);
    const final = await refreshSweep(dir, manifest);
    return stoppedBy ? { dir, manifest: final, interrupted: true, stoppedBy } : { dir, manifest: final };
  }
  const todo = manifest.runs.filter((r) =>
    r.state === "failed" || r.state === "interrupted" || (r.state === "pending" && !r.job)
  );
  const queued = manifest.runs.filter((r) => r.state === "running" || (r.state === "pending" && r.job));
  if (queued.length) log(`sweep: ${queued.length} runs still queued or running are left alone`);
  if (todo.length) {
    const name = `grpo-sweep-${dir.split("/").filter(Boolean).at(-1)}`.slice(0, 60);
    const indices = todo.map((r) => r.index);
    const job = await submitSlurm(dir, { indices, name, slurm: options.slurm });
    manifest.submissions.push({ job, at: new Date().toISOString(), indices });
    for (const r of todo) [r.job, r.state, r.reason] = [`${job}_${r.index}`, "pending", undefined];
    await writeManifest(dir, manifest);
    log(`sweep: submitted job array ${job} with ${todo.length} runs (${dir}/logs/slurm-${job}_<index>.out)`);
  } else log("sweep: nothing to submit");
  if (options.wait === false) return { dir, manifest };
  return {
    dir,
    manifest: await followSweep(dir, {
      poll: options.poll,
      log,
      timeoutMs: options.timeout === undefined ? undefined : options.timeout * 1000,
    }),
  };
}
