/**
 * The run folder as the trainer writes it. {@linkcode openRunDir} is the one way in: it makes sure the
 * folder can be written, refuses a folder that holds an earlier run (unless `overwrite_output_dir` or
 * `resume_from_checkpoint`) and cleans up what an interrupted write left. The {@linkcode RunDir} it returns
 * finds and loads the checkpoint to resume from, readies the log files ({@linkcode RunFiles}:
 * `metrics.jsonl`, `trainer_state.json`, `completions.jsonl`, `eval_completions.jsonl`, `run_config.json`)
 * and is released when the run ends. File names and the read side are lib/util's `run_folder.ts`.
 * @module
 */
import { join } from "node:path";
import type { ModelConfig } from "../model/mod.ts";
import {
  acquireFolderLock,
  appendJsonLine,
  assertNoEarlierRun,
  checkpointName,
  type EvalCompletion,
  type FolderLock,
  listCheckpoints,
  readJsonLines,
  runFile,
  UserError,
  writeFileAtomic,
  writeJsonAtomic,
} from "../util/mod.ts";
import { resolveOutputDir } from "./config.ts";
import type { GrpoConfig } from "./config_table.ts";
import { type Checkpoint, findCheckpoint, loadCheckpoint, removeStaleTemps } from "./checkpoint.ts";
import type { CompletionRecord, MetricsRow } from "./logging.ts";

/** A run folder opened for writing by one run (see {@linkcode openRunDir}). */
export interface RunDir {
  /** The folder (absolute). */
  readonly dir: string;
  /** The checkpoint named by `resume_from_checkpoint` (loaded for a model of shape `model`), or null. */
  resume(model: ModelConfig, o: { experiment: string }): Promise<Checkpoint | null>;
  /**
   * Readies the files for a run starting at `resumed`'s step (or fresh): a fresh run removes the earlier
   * run's checkpoints (`overwrite_output_dir`); logs after the checkpoint are dropped; run_config.json is
   * written.
   */
  begin(o: { experiment: string; resumed: Checkpoint | null }): Promise<RunFiles>;
  /** Releases the folder at the end of the run, whatever way it ended. */
  release(): Promise<void>;
}

/**
 * Opens the output folder of `cfg` for writing by this run: creates it and checks it can be written, refuses
 * an earlier run there (unless `overwrite_output_dir` or `resume_from_checkpoint`), and removes what an
 * interrupted write left. Every writer of a run folder comes through here.
 */
export async function openRunDir(cfg: GrpoConfig, options: { log: (line: string) => void }): Promise<RunDir> {
  const dir = resolveOutputDir(cfg.output_dir);
  await checkWritable(dir, cfg.output_dir);
  // The folder lock is taken here (one writer per run folder), before the guard and the clean-up below,
  // which both assume no other run writes into `dir`; `release()` releases it.
  const lock = await acquireFolderLock(dir, { label: "output_dir", what: "run", log: options.log });
  try {
    if (cfg.resume_from_checkpoint === null) {
      await assertNoEarlierRun(dir, { overwrite: cfg.overwrite_output_dir });
    }
    const leftovers = await removeStaleTemps(dir);
    if (leftovers.length) {
      options.log(`${dir}: cleaned up ${leftovers.length} leftover(s) of an interrupted write`);
    }
  } catch (e) {
    await lock.release();
    throw e;
  }
  return new OpenRunDir(dir, { config: cfg, log: options.log, lock });
}

class OpenRunDir implements RunDir {
  readonly dir: string;
  #cfg: GrpoConfig;
  #log: (line: string) => void;
  #lock: FolderLock;

  constructor(dir: string, o: { config: GrpoConfig; log: (line: string) => void; lock: FolderLock }) {
    this.dir = dir;
    this.#cfg = o.config;
    this.#log = o.log;
    this.#lock = o.lock;
  }

  async resume(model: ModelConfig, o: { experiment: string }): Promise<Checkpoint | null> {
    const cfg = this.#cfg;
    if (!cfg.resume_from_checkpoint) return null;
    const dir = await findCheckpoint(cfg.resume_from_checkpoint, this.dir);
    const c = await loadCheckpoint(dir, { model, experiment: o.experiment });
    warnConfigChanges(c.state.config, { now: cfg, log: this.#log });
    this.#log(`resuming ${o.experiment} from ${dir} (step ${c.state.step} of ${cfg.max_steps})`);
    return c;
  }

  async begin(o: { experiment: string; resumed: Checkpoint | null }): Promise<RunFiles> {
    const cfg = this.#cfg, dir = this.dir;
    if (!o.resumed) {
      const stale = await listCheckpoints(dir);
      if (stale.length) {
        this.#log(
          `overwrite_output_dir: removing ${stale.length} checkpoint(s) of the earlier run in ${dir}`,
        );
        for (const k of stale) await Deno.remove(join(dir, checkpointName(k)), { recursive: true });
      }
    }
    const files = new RunFiles(dir, {
      max_steps: cfg.max_steps,
      logging_steps: cfg.logging_steps,
      eval_steps: cfg.eval_steps,
      save_steps: cfg.save_steps,
    });
    const torn = await files.reset(o.resumed?.rows ?? [], o.resumed?.state.step ?? 0);
    if (torn) {
      this.#log(`${dir}/completions.jsonl: dropped ${torn} torn last line (the run was killed mid-write)`);
    }
    const extra = o.resumed ? { resumed_from: o.resumed.dir } : {};
    await files.writeRunConfig(cfg, { experiment: o.experiment, extra });
    return files;
  }

  release(): Promise<void> {
    return this.#lock.release();
  }
}

/** Creates `dir` and writes a probe file there; anything in the way → UserError naming option `given`. */
async function checkWritable(dir: string, given: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = join(dir, `.write-check.${Deno.pid}.tmp`);
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (e) {
    throw new UserError(
      `option output_dir = ${JSON.stringify(given)}: cannot write to ${dir} (${
        (e as Error).message.split("\n")[0]
      })`,
    );
  }
}

/** Options a resume may change without a notice. */
const RESUMABLE = new Set([
  "resume_from_checkpoint",
  "max_steps",
  "save_steps",
  "eval_steps",
  "logging_steps",
  "output_dir",
]);

function warnConfigChanges(saved: GrpoConfig, o: { now: GrpoConfig; log: (l: string) => void }): void {
  const get = (c: GrpoConfig, k: string) => JSON.stringify((c as unknown as Record<string, unknown>)[k]);
  const changed = Object.keys(o.now).filter((k) => !RESUMABLE.has(k) && get(saved, k) !== get(o.now, k));
  if (changed.length) {
    o.log(
      `notice: resuming with changed options ${
        changed.join(", ")
      }; the run will not match an uninterrupted one`,
    );
  }
}

/** Versions recorded in `run_config.json`. */
export function versions(): Record<string, string> {
  let ort = "unknown";
  try {
    const lock = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)));
    ort = String(lock.imports?.["onnxruntime-node"] ?? "unknown").replace(/^npm:onnxruntime-node@/, "");
  } catch { /* not readable: unknown */ }
  return { deno: Deno.version.deno, "onnxruntime-node": ort, project: PROJECT_VERSION };
}

/** This project's version. */
export const PROJECT_VERSION = "0.1.0";

/** Keys never written to run_config.json, whatever their value. */
const SECRET_KEY = /key|token|secret|password/i;

/** A copy of `value` without fields whose names look secret (API keys, tokens). */
export function withoutSecrets<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (k, v) => (k && SECRET_KEY.test(k) && typeof v === "string" ? undefined : v)),
  );
}

/** The log files of one run folder. */
export class RunFiles {
  /** The output folder. */
  readonly dir: string;
  #rows: MetricsRow[] = [];
  #state: Record<string, unknown>;

  /** Files in `dir`; `state` holds the trainer_state.json fields besides log_history. */
  constructor(
    dir: string,
    state: { max_steps: number; logging_steps: number; eval_steps: number; save_steps: number },
  ) {
    this.dir = dir;
    this.#state = { ...state };
  }

  /** `metrics.jsonl`. */
  get metricsPath(): string {
    return runFile(this.dir, "metrics");
  }

  /** Rows logged so far. */
  get rows(): readonly MetricsRow[] {
    return this.#rows;
  }

  /** Writes `run_config.json`: experiment, seed, resolved config, versions, start time, `extra` (no secrets). */
  async writeRunConfig(
    config: GrpoConfig,
    o: { experiment: string; extra?: Record<string, unknown> },
  ): Promise<void> {
    await writeJsonAtomic(
      runFile(this.dir, "runConfig"),
      withoutSecrets({
        experiment: o.experiment,
        seed: config.seed,
        config,
        versions: versions(),
        started_at: new Date().toISOString(),
        ...o.extra,
      }),
    );
  }

  /**
   * Starts fresh (empty logs) or from `rows` (a resume: logs after the checkpoint are dropped). Returns
   * how many torn lines (a kill mid-append) were dropped from the kept completions.
   */
  async reset(rows: readonly MetricsRow[], keepCompletionsUpTo: number): Promise<number> {
    this.#rows = rows.map((r) => ({ ...r }));
    await writeFileAtomic(this.metricsPath, this.#rows.map((r) => JSON.stringify(r) + "\n").join(""));
    let torn = await trimJsonLines(runFile(this.dir, "completions"), keepCompletionsUpTo);
    torn += await trimJsonLines(runFile(this.dir, "evalCompletions"), keepCompletionsUpTo);
    await this.#writeState();
    return torn;
  }

  /** Appends one row to metrics.jsonl and rewrites trainer_state.json. */
  async log(row: MetricsRow): Promise<void> {
    this.#rows.push(row);
    await appendJsonLine(this.metricsPath, row);
    await this.#writeState();
  }

  /** Appends completion records. */
  async logCompletions(records: readonly CompletionRecord[]): Promise<void> {
    if (!records.length) return;
    const text = records.map((r) => JSON.stringify(r) + "\n").join("");
    await Deno.writeTextFile(runFile(this.dir, "completions"), text, { append: true, create: true });
  }

  /** Appends held-out evaluation completions of `step` to `RUN_FILES.evalCompletions`. */
  async logEvalCompletions(step: number, records: readonly Omit<EvalCompletion, "step">[]): Promise<void> {
    if (!records.length) return;
    const text = records.map((r) => JSON.stringify({ step, ...r }) + "\n").join("");
    await Deno.writeTextFile(runFile(this.dir, "evalCompletions"), text, { append: true, create: true });
  }

  /** The trainer_state.json object (TRL layout). */
  state(globalStep: number): Record<string, unknown> {
    return { global_step: globalStep, ...this.#state, log_history: this.#rows };
  }

  async #writeState(): Promise<void> {
    const step = this.#rows.length ? this.#rows[this.#rows.length - 1].step : 0;
    await writeJsonAtomic(runFile(this.dir, "trainerState"), this.state(step));
  }
}

/** Keeps the lines of a JSONL log whose `step` ≤ `upTo` (none when `upTo` is 0); returns torn lines dropped. */
async function trimJsonLines(path: string, upTo: number): Promise<number> {
  let kept: { step: number }[] = [], torn = 0;
  if (upTo > 0) {
    try {
      const read = await readJsonLines<{ step: number }>(path);
      kept = read.rows.filter((r) => r.step <= upTo);
      torn = read.torn;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  await writeFileAtomic(path, kept.map((r) => JSON.stringify(r) + "\n").join(""));
  return torn;
}
