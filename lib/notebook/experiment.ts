/**
 * Running the study's experiments from notebooks: {@linkcode runInNotebook} trains one experiment with a
 * live-updating reward plot (plotly through {@linkcode liveDisplay}; outside Jupyter it prints progress
 * lines), {@linkcode experimentStatus} says which of the six experiments (per seed) exist in an output
 * folder and the command that produces each missing one, and {@linkcode runAllExperiments} runs them
 * all (per seed) in one go.
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  EXPERIMENT_IDS,
  getExperiment,
  runExperiment,
  type RunExperimentOptions,
} from "../grpo/experiments.ts";
import { GRPO_DEFAULTS, REPO_ROOT } from "../grpo/config.ts";
import type { MetricsRow } from "../grpo/logging.ts";
import { createGeminiJudge, type Judge } from "../judge/mod.ts";
import type { PlotSpec } from "../analysis/figures.ts";
import { PLOTLY_MIME } from "../analysis/display.ts";
import { readJsonLines } from "../util/atomic.ts";
import { UserError } from "../util/errors.ts";
import { formatDuration, type ProgressEvent } from "../util/progress.ts";
import {
  checkSlurmOptions,
  runLines,
  runSweep,
  type SlurmOptions,
  summaryLine,
  type SweepBackend,
  sweepStatus,
} from "../study/mod.ts";
import { isJupyter, liveDisplay } from "./display.ts";

/** Options of {@linkcode runInNotebook}. */
export interface NotebookRunOptions {
  /** The judge of dialogue experiments (default: {@linkcode notebookJudge} with `gemini`). */
  judge?: Judge;
  /** Use Gemini when `GEMINI_API_KEY` is set (default true); false scores with the counted offline fallback. */
  gemini?: boolean;
  /** Draw the live reward plot (default: when running in Jupyter). */
  plot?: boolean;
  /** Print progress lines (default: when not plotting). */
  print?: boolean;
  /** Folder that relative `model`, `output_dir` and `perplexity_model` are resolved from (default: the working folder). */
  cwd?: string;
  /** Where notices go (default stderr; the closing summary: stdout). */
  log?: (line: string) => void;
  /** Further options of `runExperiment` (a loaded model, scorers, a stop signal). */
  experiment?: Omit<RunExperimentOptions, "params" | "judge" | "onLog" | "onProgress" | "print" | "log">;
}

/** A judge for notebooks: Gemini (or its counted fallback when no key is set); `gemini: false` forces the fallback. */
export function notebookJudge(options: { gemini?: boolean; log?: (line: string) => void } = {}): Judge {
  if (options.gemini ?? true) return createGeminiJudge({ log: options.log });
  (options.log ?? console.warn)(
    "judge: gemini = false; every score comes from the overlap fallback (counted)",
  );
  return createGeminiJudge({ apiKey: "", fallback: "overlap", log: () => {} });
}

function looksLikePath(v: string): boolean {
  return v.startsWith("./") || v.startsWith("../") || isAbsolute(v) || v === "." || v === "..";
}

/**
 * Notebook parameters as experiment options: `undefined` values dropped, relative `output_dir` resolved
 * from `cwd`, and `model` / `perplexity_model` given as paths resolved from `cwd` (a missing folder →
 * UserError naming the parameter).
 */
export function notebookParams(params: Record<string, unknown>, cwd: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out[k] = v;
  if (typeof out.output_dir === "string" && !isAbsolute(out.output_dir)) {
    out.output_dir = resolve(cwd, out.output_dir);
  }
  for (const k of ["model", "perplexity_model"]) {
    const v = out[k];
    if (typeof v !== "string" || !looksLikePath(v)) continue;
    const abs = resolve(cwd, v);
    if (!existsSync(abs)) {
      throw new UserError(
        `parameter ${k} = ${JSON.stringify(v)}: ${abs} does not exist${
          k === "model" ? " (build the embedded model with `deno task pretrain`, or give a model folder)" : ""
        }`,
      );
    }
    out[k] = abs;
  }
  return out;
}

const HELD_OUT = ["eval/accuracy", "eval/judge_score"];

/** The live figure: total reward and each reward function's mean per step, the held-out metric on a right axis. */
export function liveRewardFigure(rows: readonly MetricsRow[], options: { title?: string } = {}): PlotSpec {
  const series = (key: string) => {
    const pts = rows.filter((r) => typeof r[key] === "number" && Number.isFinite(r[key]));
    return { x: pts.map((r) => r.step), y: pts.map((r) => r[key]) };
  };
  const fns = [...new Set(rows.flatMap((r) => Object.keys(r)))]
    .filter((k) => /^rewards\/.+\/mean$/.test(k)).sort();
  const data: Record<string, unknown>[] = [
    {
      type: "scatter",
      mode: "lines+markers",
      name: "reward (total)",
      line: { color: "#222", width: 2 },
      ...series("reward"),
    },
    ...fns.map((k) => ({ type: "scatter", mode: "lines", name: k.slice(8, -5), ...series(k) })),
  ];
  for (const k of HELD_OUT) {
    const s = series(k);
    if (!s.x.length) continue;
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: `${k} (right axis)`,
      yaxis: "y2",
      line: { dash: "dot", color: "#d62728" },
      marker: { size: 9, symbol: "diamond" },
      ...s,
    });
  }
  const held = HELD_OUT.find((k) => rows.some((r) => k in r));
  return {
    data,
    layout: {
      title: { text: options.title ?? "training reward" },
      xaxis: { title: { text: "step" } },
      yaxis: { title: { text: "reward" } },
      ...(held
        ? { yaxis2: { title: { text: held }, overlaying: "y", side: "right", rangemode: "tozero" } }
        : {}),
      legend: { orientation: "h", y: -0.25 },
      margin: { l: 60, r: 60, t: 50, b: 60 },
      height: 400,
    },
  };
}

/**
 * Trains experiment `id` with the notebook's parameters (experiment option names; see
 * {@linkcode notebookParams}) and a live reward plot updated at every logged step. Returns the run folder.
 */
export async function runInNotebook(
  id: string,
  params: Record<string, unknown> = {},
  options: NotebookRunOptions = {},
): Promise<string> {
  const e = getExperiment(id);
  const log = options.log ?? ((l: string) => console.error(l));
  const resolved = notebookParams(params, options.cwd ?? Deno.cwd());
  const plot = options.plot ?? isJupyter();
  const rows: MetricsRow[] = [];
  const live = plot ? liveDisplay() : null;
  let status = `${id}: starting`;
  // Updates are chained so they reach the front-end in order; a failed one is reported once, not thrown.
  let chain = Promise.resolve();
  let failed = false;
  const redraw = () => {
    if (!live) return;
    const bundle = { [PLOTLY_MIME]: liveRewardFigure(rows, { title: status }), "text/plain": status };
    chain = chain.then(() => live.update(bundle)).catch((err) => {
      if (!failed) log(`live plot: update failed (${(err as Error).message}); training continues`);
      failed = true;
    });
  };
  redraw();
  const judge = options.judge ??
    (e.task === "dialogue" ? notebookJudge({ gemini: options.gemini, log }) : undefined);
  const result = await runExperiment(id, {
    ...options.experiment,
    params: resolved,
    judge,
    print: options.print ?? !plot,
    log,
    onLog: (row) => {
      rows.push(row);
      redraw();
    },
    onProgress: (p: ProgressEvent) => {
      const reward = typeof p.fields.reward === "number" ? ` · reward ${p.fields.reward.toFixed(3)}` : "";
      status = `${id}: step ${p.step}/${p.total}${reward} · ETA ${formatDuration(p.eta)}`;
      redraw();
    },
  });
  const held = HELD_OUT.find((k) => result.rows.some((r) => r[k] !== undefined));
  const evals = held ? result.rows.filter((r) => r[held] !== undefined).map((r) => r[held]) : [];
  status = `${id}: ${result.stopped ? "stopped" : "done"} after ${result.step} steps${
    evals.length > 1 ? ` · ${held} ${evals[0].toFixed(3)} → ${evals[evals.length - 1].toFixed(3)}` : ""
  }`;
  redraw();
  await chain;
  (options.log ?? console.log)(`${status}\nrun folder: ${result.outputDir}`);
  return result.outputDir;
}

/** One run found in an output folder. */
export interface RunStatus {
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

/** Which experiments exist in an output folder, and what to run for the rest. */
export interface ExperimentStatus {
  /** Every run found (all experiments and seeds, wanted or not), in folder order. */
  runs: RunStatus[];
  /** (experiment, seed) pairs with no run, each with the command that produces it. */
  missing: { experiment: string; seed: number; command: string }[];
  /** Wanted runs that stopped before max_steps, each with the command that resumes it. */
  incomplete: { run: RunStatus; command: string }[];
}

/** The folder {@linkcode runAllExperiments} uses for (id, seed): `<outputs>/<id>` for the default seed, else `<outputs>/<id>_seed<seed>`. */
export function seedOutputDir(outputsDir: string, id: string, seed: number): string {
  return join(outputsDir, seed === GRPO_DEFAULTS.seed ? id : `${id}_seed${seed}`);
}

/** `deno task experiment <id>` with the `--param`s that reproduce a run of `seed` in `outputDir` (or resume it). */
export function experimentCommand(
  id: string,
  options: { seed?: number; outputDir?: string; resume?: boolean } = {},
): string {
  const parts = [`deno task experiment ${id}`];
  const seed = options.seed ?? GRPO_DEFAULTS.seed;
  if (seed !== GRPO_DEFAULTS.seed) parts.push(`--param seed=${seed}`);
  if (options.outputDir !== undefined) {
    const abs = resolve(options.outputDir);
    const rel = relative(REPO_ROOT, abs);
    const shown = rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : abs;
    if (shown !== `outputs/${id}`) parts.push(`--param output_dir=${shown}`);
  }
  if (options.resume) parts.push("--param resume_from_checkpoint=latest");
  return parts.join(" ");
}

async function readRun(dir: string): Promise<RunStatus> {
  const path = join(dir, "run_config.json");
  let rc: { experiment?: unknown; seed?: unknown; config?: { max_steps?: unknown } };
  try {
    rc = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new UserError(`${path}: cannot read run config (${(e as Error).message.split("\n")[0]})`);
  }
  if (typeof rc?.experiment !== "string" || !Number.isInteger(rc.seed)) {
    throw new UserError(`${path}: fields "experiment" (string) and "seed" (integer) are required`);
  }
  const maxSteps = Number(rc.config?.max_steps);
  if (!Number.isInteger(maxSteps)) throw new UserError(`${path}: field "config.max_steps" is not an integer`);
  let steps = 0;
  try {
    const { rows } = await readJsonLines<{ step?: number }>(join(dir, "metrics.jsonl"));
    steps = Math.max(0, ...rows.map((r) => (typeof r.step === "number" ? r.step : 0)));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new UserError(`${join(dir, "metrics.jsonl")}: ${(e as Error).message}`);
    }
  }
  return {
    experiment: rc.experiment,
    seed: rc.seed as number,
    dir,
    steps,
    maxSteps,
    complete: steps >= maxSteps,
  };
}

/** Run folders (holding run_config.json) under `root`, depth-first in name order; checkpoints and dot folders skipped. */
async function findRunDirs(root: string, depth = 0): Promise<string[]> {
  if (existsSync(join(root, "run_config.json"))) return [root];
  if (depth >= 4) return [];
  const names: string[] = [];
  for await (const e of Deno.readDir(root)) {
    if (e.isDirectory && !e.name.startsWith(".") && !/^checkpoint-\d+$/.test(e.name)) names.push(e.name);
  }
  const out: string[] = [];
  for (const n of names.sort()) out.push(...await findRunDirs(join(root, n), depth + 1));
  return out;
}

/**
 * Scans `outputsDir` for runs and reports, for each of the six experiments and each seed (default: the
 * default seed), whether a run exists, is complete, or is missing (with its command). A missing folder
 * means every experiment is missing.
 */
export async function experimentStatus(
  outputsDir: string,
  options: { seeds?: readonly number[] } = {},
): Promise<ExperimentStatus> {
  const seeds = options.seeds ?? [GRPO_DEFAULTS.seed];
  for (const s of seeds) {
    if (!Number.isInteger(s)) throw new UserError(`seeds: ${JSON.stringify(s)} is not an integer`);
  }
  const exists = existsSync(outputsDir) && statSync(outputsDir).isDirectory();
  const runs: RunStatus[] = [];
  if (exists) { for (const d of await findRunDirs(outputsDir)) runs.push(await readRun(d)); }
  const missing: ExperimentStatus["missing"] = [];
  const incomplete: ExperimentStatus["incomplete"] = [];
  for (const id of EXPERIMENT_IDS) {
    for (const seed of seeds) {
      const found = runs.filter((r) => r.experiment === id && r.seed === seed);
      if (!found.length) {
        missing.push({
          experiment: id,
          seed,
          command: experimentCommand(id, { seed, outputDir: seedOutputDir(outputsDir, id, seed) }),
        });
      } else if (!found.some((r) => r.complete)) {
        const run = found[0];
        incomplete.push({ run, command: experimentCommand(id, { seed, outputDir: run.dir, resume: true }) });
      }
    }
  }
  return { runs, missing, incomplete };
}

/** Lines describing a status: what was found, what is missing (with commands), what stopped early. */
export function statusLines(status: ExperimentStatus, options: { relativeTo?: string } = {}): string[] {
  const show = (p: string) => (options.relativeTo ? relative(options.relativeTo, p) || "." : p);
  const lines = status.runs.map((r) =>
    `found ${r.experiment} seed ${r.seed}: ${r.steps}/${r.maxSteps} steps${
      r.complete ? "" : " (incomplete)"
    } in ${show(r.dir)}`
  );
  if (!status.runs.length) lines.push("no runs found");
  for (const m of status.missing) lines.push(`missing ${m.experiment} seed ${m.seed}: ${m.command}`);
  for (const i of status.incomplete) {
    lines.push(`incomplete ${i.run.experiment} seed ${i.run.seed}: resume with ${i.command}`);
  }
  if (!status.missing.length && !status.incomplete.length) lines.push("all wanted experiments are present");
  return lines;
}

/** Options of {@linkcode runAllExperiments}. */
export interface RunAllOptions extends NotebookRunOptions {
  /** Seeds (default: the default seed). */
  seeds?: readonly number[];
  /** Options given to every experiment (e.g. `{ max_steps: 40 }`); seed and output_dir are set per run. */
  params?: Record<string, unknown>;
  /** Experiments to run (default all of the experiments table). */
  ids?: readonly string[];
  /**
   * "local" (default): one run after another in this process, with live plots; "slurm": one `sbatch` job
   * array, followed until every run is done or failed.
   */
  backend?: SweepBackend;
  /** Slurm options (partition, time, cpus_per_task, mem, gres, sbatch_lines, max_parallel); checked. */
  slurm?: SlurmOptions | Record<string, unknown>;
  /** Slurm: seconds between polls (default 5). */
  poll?: number;
}

/**
 * Runs every experiment for every seed as one sweep in `outputsDir` (`sweep.json` + one folder per run,
 * `<experiment>_seed<seed>`), locally or on Slurm; runs already complete are kept, stopped ones resume from
 * their latest checkpoint. Returns the run folders; a failed run → UserError listing the failures.
 */
export async function runAllExperiments(outputsDir: string, options: RunAllOptions = {}): Promise<string[]> {
  for (const k of ["seed", "output_dir"]) {
    if (options.params && k in options.params) {
      throw new UserError(`runAllExperiments: params.${k} is set per run; give seeds / outputsDir instead`);
    }
  }
  const cwd = options.cwd ?? Deno.cwd();
  const spec = {
    experiments: [...(options.ids ?? EXPERIMENT_IDS)],
    seeds: [...(options.seeds ?? [GRPO_DEFAULTS.seed])],
    params: notebookParams(options.params ?? {}, cwd),
    output_dir: resolve(cwd, outputsDir),
  };
  const backend = options.backend ?? "local";
  const log = options.log ?? ((l: string) => console.error(l));
  const { dir, manifest } = await runSweep(spec, {
    backend,
    resume: true,
    replace: true,
    slurm: checkSlurmOptions(options.slurm ?? {}),
    poll: options.poll,
    log: options.print === false ? () => {} : log,
    runOne: backend === "local"
      ? async (run, params) => void await runInNotebook(run.experiment, params, { ...options, cwd })
      : undefined,
  });
  const failed = manifest.runs.filter((r) => r.state !== "done");
  if (failed.length) {
    throw new UserError(
      `runAllExperiments: ${failed.length} of ${manifest.runs.length} runs not done: ${
        failed.map((r) => `${r.id} ${r.state}${r.reason ? ` (${r.reason})` : ""}`).join("; ")
      }`,
    );
  }
  return manifest.runs.map((r) => join(dir, r.dir));
}

/**
 * When `outputsDir` holds a sweep (`sweep.json`): one line per run with its fresh state (Slurm's view when
 * it ran there) and a summary line; else no lines.
 */
export async function sweepLines(outputsDir: string, options: { cwd?: string } = {}): Promise<string[]> {
  const dir = resolve(options.cwd ?? Deno.cwd(), outputsDir);
  if (!existsSync(join(dir, "sweep.json"))) return [];
  const m = await sweepStatus(dir);
  return [...runLines(m.runs).map((l) => `sweep: ${l}`), `sweep (${m.backend}): ${summaryLine(m.runs)}`];
}

/** The shared TRL logs (`shared/data/trl-logs` beside the repository). */
export const SHARED_TRL_LOGS: string = fileURLToPath(
  new URL("../../../shared/data/trl-logs", import.meta.url),
);

/**
 * The TRL log folder a notebook parameter names: `"auto"` → the shared TRL logs when they exist, else
 * null; null or `""` → null; a path (from `cwd`) that does not exist → UserError.
 */
export function resolveTrlLogs(value: string | null, options: { cwd?: string } = {}): string | null {
  if (value === null || value === "") return null;
  if (value === "auto") return existsSync(SHARED_TRL_LOGS) ? SHARED_TRL_LOGS : null;
  const abs = resolve(options.cwd ?? Deno.cwd(), value);
  if (!existsSync(abs)) {
    throw new UserError(`parameter trl_logs = ${JSON.stringify(value)}: ${abs} does not exist`);
  }
  return abs;
}
