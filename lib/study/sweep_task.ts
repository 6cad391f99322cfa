/**
 * One task of a sweep: the run at an index, trained by `deno task experiment` into the sweep folder.
 * The same code serves a Slurm array task, a Kubernetes completion index and the local backend:
 *
 * - a run whose folder is complete is left alone (done);
 * - a run with a checkpoint resumes from the latest one (`resume_from_checkpoint=latest`), which is what
 *   makes a Slurm requeue (preemption, node failure) or a resubmission continue where it stopped;
 * - the task records its attempt in `logs/<id>.json` (state, exit code, the run's `error:` line) and
 *   appends the run's output to `logs/<id>.log`;
 * - SIGTERM or SIGINT to the task is passed on to the run, which checkpoints and stops; the attempt is
 *   `interrupted`. Under Slurm a task still running then requeues itself (`scontrol requeue`), so a signal
 *   ahead of the time limit (`--signal`) or from a preemption continues from that checkpoint; a cancelled
 *   job (`scancel`) is not requeued.
 * @module
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, signalExitCode } from "../grpo/mod.ts";
import { UserError } from "../util/mod.ts";
import type { SweepRun } from "./sweep_spec.ts";
import {
  readManifest,
  readTaskRecord,
  runFolderState,
  taskLogPath,
  type TaskRecord,
  writeTaskRecord,
} from "./sweep_manifest.ts";
import { requeueSlurmTask } from "./sweep_slurm.ts";

/** Options of {@linkcode runSweepTask}. */
export interface SweepTaskOptions {
  /** Threads for the run when its options do not set `threads` (the local backend splits the machine). */
  threads?: number;
  /** Scheduler id for the record (default from `$SLURM_ARRAY_JOB_ID`/`$SLURM_ARRAY_TASK_ID`, `$HOSTNAME` in k8s, else "local"). */
  job?: string;
  /** Also copy the run's output here, line by line (default: the task's own stderr). */
  echo?: ((line: string) => void) | null;
  /** Signals to pass on to the run (each one sends it SIGTERM); without it the task listens to SIGTERM and SIGINT itself. */
  forward?: SignalRelay;
}

/** Signals a sweep passes on to its running tasks: each {@linkcode SignalRelay.relay} reaches every listener. */
export class SignalRelay extends EventTarget {
  /** The first signal relayed, or null. */
  first: string | null = null;
  /** Passes `signal` on (a `signal` event whose detail is its name). */
  relay(signal: string): void {
    this.first ??= signal;
    this.dispatchEvent(new CustomEvent("signal", { detail: signal }));
  }
}

/** `--param key=value` arguments (values as JSON). */
export function paramArgs(params: Readonly<Record<string, unknown>>): string[] {
  return Object.entries(params).flatMap(([k, v]) => ["--param", `${k}=${JSON.stringify(v)}`]);
}

function defaultJob(): string {
  const a = Deno.env.get("SLURM_ARRAY_JOB_ID"), t = Deno.env.get("SLURM_ARRAY_TASK_ID");
  if (a && t) return `${a}_${t}`;
  const j = Deno.env.get("SLURM_JOB_ID");
  if (j) return j;
  return Deno.env.get("JOB_COMPLETION_INDEX") ? `k8s:${hostname()}` : "local";
}

/**
 * The options `run` trains with into `outDir`: its own, `output_dir`, `threads` when given and the run does
 * not set it, and `resume_from_checkpoint: "latest"` when a checkpoint exists. `skip`: the run is complete.
 */
export async function taskParams(
  run: SweepRun,
  outDir: string,
  options: { threads?: number } = {},
): Promise<{ params: Record<string, unknown>; resumeFrom: string | null; skip: boolean }> {
  const folder = await runFolderState(outDir);
  const params: Record<string, unknown> = { ...run.params, output_dir: outDir };
  if (folder.complete) return { params, resumeFrom: null, skip: true };
  if (options.threads !== undefined && !("threads" in run.params)) params.threads = options.threads;
  let resumeFrom: string | null = null;
  if (folder.checkpoints.length) {
    params.resume_from_checkpoint = "latest";
    resumeFrom = join(outDir, `checkpoint-${folder.checkpoints.at(-1)}`);
  } else if (folder.started) {
    params.overwrite_output_dir = true; // stopped before its first checkpoint: nothing to keep
  }
  return { params, resumeFrom, skip: false };
}

/** Last `error: …` line of some output (the CLIs' one-line errors), without the prefix. */
export function errorLine(output: string): string | null {
  const lines = output.split("\n").map((l) => l.trim()).filter((l) => /^error: /.test(l));
  return lines.length ? lines[lines.length - 1].slice("error: ".length) : null;
}

/**
 * Runs the task at `index` of the sweep in `sweepDir`: trains (or resumes, or skips a complete run) and
 * returns its record (also written to `logs/<id>.json`). A failed run is a record, not an exception; a
 * bad index or manifest → UserError.
 */
export async function runSweepTask(
  sweepDir: string,
  index: number,
  options: SweepTaskOptions = {},
): Promise<TaskRecord> {
  const manifest = await readManifest(sweepDir);
  const run = manifest.runs[index];
  if (!Number.isInteger(index) || !run) {
    throw new UserError(
      `sweep task: index ${index} is not a run of ${sweepDir} (0–${manifest.runs.length - 1})`,
    );
  }
  const outDir = join(sweepDir, run.dir);
  const prev = await readTaskRecord(sweepDir, run.id);
  const { params, resumeFrom, skip } = await taskParams(run, outDir, options);
  // `deno run`, not `deno task`: the signals the task passes on must reach the run itself.
  const args = ["run", "-A", "cli/experiment.ts", run.experiment, ...paramArgs(params)];
  const record: TaskRecord = {
    id: run.id,
    state: "running",
    attempt: (prev?.attempt ?? 0) + 1,
    exit_code: null,
    error: null,
    resumed_from: resumeFrom,
    job: options.job ?? defaultJob(),
    host: hostname(),
    pid: Deno.pid,
    started: new Date().toISOString(),
  };
  const save = () => writeTaskRecord(sweepDir, record);
  await Deno.mkdir(join(sweepDir, "logs"), { recursive: true });
  const log = await Deno.open(taskLogPath(sweepDir, run.id), { append: true, create: true });
  const enc = new TextEncoder();
  const note = async (line: string) => {
    await log.write(enc.encode(`${line}\n`));
    (options.echo === undefined ? (l: string) => console.error(l) : options.echo ?? (() => {}))(line);
  };
  let removeListeners = () => {};
  try {
    if (skip) {
      Object.assign(record, { state: "done", exit_code: 0, ended: new Date().toISOString() });
      await note(`sweep task ${run.id}: already complete`);
      await save();
      return record;
    }
    await save();
    await note(
      `sweep task ${run.id} (attempt ${record.attempt}, ${record.job}): deno ${args.join(" ")}${
        resumeFrom ? ` [resuming from ${resumeFrom}]` : ""
      }`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: REPO_ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let stoppedBy: string | null = null;
    const pass = (sig: string) => {
      stoppedBy ??= sig;
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
    };
    const onForward: EventListener = (e) => pass(String((e as CustomEvent).detail ?? "SIGTERM"));
    const own = !options.forward && Deno.build.os !== "windows";
    const onTerm = () => pass("SIGTERM"), onInt = () => pass("SIGINT");
    options.forward?.addEventListener("signal", onForward);
    if (options.forward?.first) pass(options.forward.first); // relayed before this run started
    if (own) {
      Deno.addSignalListener("SIGTERM", onTerm);
      Deno.addSignalListener("SIGINT", onInt);
    }
    // The listeners stay until the record is written (and, under Slurm, the requeue asked for).
    removeListeners = () => {
      options.forward?.removeEventListener("signal", onForward);
      if (own) {
        Deno.removeSignalListener("SIGTERM", onTerm);
        Deno.removeSignalListener("SIGINT", onInt);
      }
    };
    let output = "";
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      let buf = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          output = (output + line + "\n").slice(-20_000);
          await note(line);
        }
      }
      if (buf) {
        output += buf;
        await note(buf);
      }
    };
    const [status] = await Promise.all([child.status, pump(child.stdout), pump(child.stderr)]);
    const folder = await runFolderState(outDir);
    record.exit_code = status.signal ? null : status.code;
    record.ended = new Date().toISOString();
    const stops = ["SIGTERM", "SIGINT"];
    const signalled = stoppedBy !== null || stops.includes(status.signal ?? "") ||
      stops.some((sig) => status.code === signalExitCode(sig));
    if (status.success && folder.complete) record.state = "done";
    else if (signalled) {
      record.state = "interrupted";
      const ckpt = folder.checkpoints.at(-1);
      record.error = `stopped by ${stoppedBy ?? status.signal ?? "a signal"} at step ${folder.step}${
        ckpt ? ` (resumes from checkpoint-${ckpt})` : " (no checkpoint yet: restarts)"
      }`;
    } else {
      record.state = "failed";
      record.error = errorLine(output) ??
        (status.signal
          ? `killed by ${status.signal}`
          : status.success
          ? `exited 0 at step ${folder.step} of ${folder.maxSteps || "?"} (the run is incomplete)`
          : `exit code ${status.code}`);
    }
    await note(`sweep task ${run.id}: ${record.state}${record.error ? ` (${record.error})` : ""}`);
    await save();
    if (record.state === "interrupted" && stoppedBy && record.job !== "local") {
      const requeued = await requeueSlurmTask();
      if (requeued) await note(`sweep task ${run.id}: ${requeued}`);
    }
    return record;
  } finally {
    removeListeners();
    log.close();
  }
}
