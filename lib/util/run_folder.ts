/**
 * The run folder, in one place: the names of its files (`run_config.json`, `metrics.jsonl`,
 * `completions.jsonl`, `trainer_state.json`, `checkpoint-<step>/`), the default output folder of an
 * experiment and seed (`outputs/<experiment>_seed<seed>`), finding run folders and checkpoints, reading
 * a run's identity and progress, and the guard that stops a new run from replacing an earlier one.
 * The trainer (lib/grpo) writes these files, so this module sits low enough for it to use; the study
 * layer (lib/study, lib/analysis, lib/eval) reads them through it.
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readJsonLines } from "./atomic.ts";
import { UserError } from "./errors.ts";

/** File names inside a run folder. */
export const RUN_FILES = Object.freeze({
  /** Experiment, seed, resolved config, versions (written once per start or resume). */
  runConfig: "run_config.json",
  /** One JSON line per logged step (TRL log names). */
  metrics: "metrics.jsonl",
  /** Every sampled completion with its rewards and advantage. */
  completions: "completions.jsonl",
  /** TRL's trainer state (`log_history`), in the run folder and in each checkpoint. */
  trainerState: "trainer_state.json",
  /** Every held-out evaluation answer: one line per problem per evaluation (`step` 0: the base model). */
  evalCompletions: "eval_completions.jsonl",
});

/** The folder experiments write into unless `output_dir` is given (relative to the repository root). */
export const DEFAULT_OUTPUTS_DIR = "outputs";

const CHECKPOINT = /^checkpoint-(\d+)$/;

/** Path of one of {@linkcode RUN_FILES} in run folder `dir`. */
export function runFile(dir: string, file: keyof typeof RUN_FILES): string {
  return join(dir, RUN_FILES[file]);
}

/** `checkpoint-<step>`: the name of a checkpoint folder. */
export function checkpointName(step: number): string {
  return `checkpoint-${step}`;
}

/** The step a checkpoint folder name holds (`checkpoint-12` → 12), or null for any other name. */
export function checkpointStep(name: string): number | null {
  const m = CHECKPOINT.exec(name);
  return m ? Number(m[1]) : null;
}

/** The name of the run folder of (experiment, seed): `<experiment>_seed<seed>`, for every seed. */
export function runFolderName(experiment: string, seed: number): string {
  return `${experiment}_seed${seed}`;
}

/** The default output folder of (experiment, seed): `outputs/<experiment>_seed<seed>` (or under `outputsDir`). */
export function defaultOutputDir(
  experiment: string,
  seed: number,
  options: { outputsDir?: string } = {},
): string {
  return join(options.outputsDir ?? DEFAULT_OUTPUTS_DIR, runFolderName(experiment, seed));
}

/** Steps of the complete checkpoints in `outputDir`, ascending (none when the folder is absent). */
export async function listCheckpoints(outputDir: string): Promise<number[]> {
  const steps: number[] = [];
  try {
    for await (const e of Deno.readDir(outputDir)) {
      const s = e.isDirectory ? checkpointStep(e.name) : null;
      if (s !== null) steps.push(s);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return steps.sort((a, b) => a - b);
}

/** A run's identity and progress, read from its folder. */
export interface RunSummary {
  /** Experiment id (from run_config.json). */
  experiment: string;
  /** Seed (from run_config.json). */
  seed: number;
  /** The run folder. */
  dir: string;
  /** Last logged step (0 when nothing was logged). */
  steps: number;
  /** The run's max_steps. */
  maxSteps: number;
  /** Whether the last logged step reached max_steps. */
  complete: boolean;
}

/** The parsed `run_config.json` of `dir` (an unreadable or non-object file → UserError naming it). */
export async function readRunConfig(dir: string): Promise<Record<string, unknown>> {
  const path = runFile(dir, "runConfig");
  let rc: unknown;
  try {
    rc = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new UserError(`${path}: cannot read run config (${(e as Error).message.split("\n")[0]})`);
  }
  if (typeof rc !== "object" || rc === null || Array.isArray(rc)) {
    throw new UserError(`${path}: expected a JSON object`);
  }
  return rc as Record<string, unknown>;
}

/** The last step logged in `<dir>/metrics.jsonl` (0 when the file is absent or empty). */
export async function lastLoggedStep(dir: string): Promise<number> {
  try {
    const { rows } = await readJsonLines<{ step?: number }>(runFile(dir, "metrics"));
    return Math.max(0, ...rows.map((r) => (typeof r?.step === "number" ? r.step : 0)));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 0;
    throw new UserError(`${runFile(dir, "metrics")}: ${(e as Error).message}`);
  }
}

/** Experiment, seed, last step and max_steps of the run in `dir` (a bad run_config.json → UserError). */
export async function readRunSummary(dir: string): Promise<RunSummary> {
  const path = runFile(dir, "runConfig");
  const rc = await readRunConfig(dir);
  if (typeof rc.experiment !== "string" || !Number.isInteger(rc.seed)) {
    throw new UserError(`${path}: fields "experiment" (string) and "seed" (integer) are required`);
  }
  const maxSteps = Number((rc.config as { max_steps?: unknown } | undefined)?.max_steps);
  if (!Number.isInteger(maxSteps)) throw new UserError(`${path}: field "config.max_steps" is not an integer`);
  const steps = await lastLoggedStep(dir);
  return {
    experiment: rc.experiment,
    seed: rc.seed as number,
    dir,
    steps,
    maxSteps,
    complete: steps >= maxSteps,
  };
}

/** Whether `dir` holds a run: a run_config.json, a metrics.jsonl or a checkpoint folder. */
export async function holdsRun(dir: string): Promise<boolean> {
  if (existsSync(runFile(dir, "runConfig")) || existsSync(runFile(dir, "metrics"))) return true;
  return (await listCheckpoints(dir)).length > 0;
}

/**
 * Run folders (holding run_config.json) under `root`, depth-first in name order, `maxDepth` folders
 * deep (default 4); checkpoint and dot folders are not searched. Symbolic links to folders are followed
 * (a folder of links to run folders is a common way to gather runs); a folder reached twice is searched once.
 */
export async function findRunDirs(root: string, options: { maxDepth?: number } = {}): Promise<string[]> {
  const maxDepth = options.maxDepth ?? 4;
  const seen = new Set<string>();
  const visit = async (dir: string, depth: number): Promise<string[]> => {
    const real = await Deno.realPath(dir);
    if (seen.has(real)) return [];
    seen.add(real);
    if (existsSync(runFile(dir, "runConfig"))) return [dir];
    if (depth >= maxDepth) return [];
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith(".") || checkpointStep(e.name) !== null) continue;
      const isDir = e.isDirectory ||
        (e.isSymlink && (await Deno.stat(join(dir, e.name)).catch(() => null))?.isDirectory === true);
      if (isDir) names.push(e.name);
    }
    const out: string[] = [];
    for (const n of names.sort()) out.push(...await visit(join(dir, n), depth + 1));
    return out;
  };
  return existsSync(root) ? await visit(root, 0) : [];
}

/** A short description of the run in `dir`: `math_hard seed 42, last step 15 of 50` (what can be read). */
export async function describeRun(dir: string): Promise<string> {
  const steps = await lastLoggedStep(dir).catch(() => 0);
  const ckpts = await listCheckpoints(dir);
  const last = Math.max(steps, ckpts.length ? ckpts[ckpts.length - 1] : 0);
  try {
    const s = await readRunSummary(dir);
    return `${s.experiment} seed ${s.seed}, last step ${last} of ${s.maxSteps}`;
  } catch {
    return `unknown experiment and seed (no readable ${RUN_FILES.runConfig}), last step ${last}`;
  }
}

/**
 * Stops a fresh run in `outputDir` when the folder already holds a run (see {@linkcode holdsRun}): a
 * one-line UserError naming that run and the three ways on. `overwrite` (option `overwrite_output_dir`)
 * lets it through. The trainer calls it where it opens a run folder for writing (lib/grpo `openRunDir`).
 */
export async function assertNoEarlierRun(
  outputDir: string,
  options: { overwrite?: boolean } = {},
): Promise<void> {
  if (options.overwrite || !(await holdsRun(outputDir))) return;
  throw new UserError(
    `output_dir ${outputDir} already holds a run (${await describeRun(outputDir)}); ` +
      "continue it with resume_from_checkpoint=latest, replace it with overwrite_output_dir=true, " +
      "or give another output_dir",
  );
}

/** One held-out evaluation completion as logged in `eval_completions.jsonl` (`RUN_FILES.evalCompletions`). */
export interface EvalCompletion {
  /** The step whose policy answered (0: the base model before training). */
  step: number;
  /** Index of the problem in the run's held-out split. */
  id: number;
  /** The problem or instruction (the user turn). */
  prompt: string;
  /** The greedy completion. */
  completion: string;
  /** The gold answer (math) or reference response (dialogue). */
  gold: string;
  /** Math: whether the extracted answer equals the gold one. */
  correct?: boolean;
  /** A score (dialogue: the judge's 0–10). */
  score?: number;
  /** Where a judge score came from: `judge`, `cache` or `fallback` (the local fallback, not the judge). */
  source?: string;
}
