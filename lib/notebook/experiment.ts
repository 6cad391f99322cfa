/**
 * Running the study's experiments from notebooks: {@linkcode runInNotebook} trains one experiment with a
 * live-updating reward plot (lib/analysis `liveRewardFigure`, the reward-per-function figure over the rows
 * logged so far, through {@linkcode liveDisplay}; outside Jupyter it prints progress lines) and {@linkcode runAllExperiments} runs them all (per seed) that way. Status, commands and the
 * default folders come from the study layer (lib/study).
 * @module
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { MetricsRow } from "../grpo/mod.ts";
import { createGeminiJudge, type Judge } from "../judge/mod.ts";
import { figureBundle, heldOutMetric, liveRewardFigure, PLOTLY_MIME } from "../analysis/mod.ts";
import {
  getExperiment,
  runAllExperiments as runAllStudy,
  type RunAllOptions as StudyRunAllOptions,
  runExperiment,
  type RunExperimentOptions,
} from "../study/mod.ts";
import {
  formatDuration,
  formatValue,
  isJupyter,
  liveDisplay,
  type ProgressEvent,
  UserError,
} from "../util/mod.ts";

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
 * Notebook parameters as experiment options: `undefined` values dropped, `output_dir = null` dropped (the
 * experiment's default folder, `outputs/<id>_seed<seed>`), a relative `output_dir` resolved from `cwd`, and `model` / `perplexity_model` given as paths resolved from `cwd` (a missing folder →
 * UserError naming the parameter).
 */
export function notebookParams(params: Record<string, unknown>, cwd: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && !(k === "output_dir" && v === null)) out[k] = v;
  }
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
  // Only the final drawing carries the self-drawing text/html (with plotly.js): it is the one the notebook keeps.
  const redraw = (final = false) => {
    if (!live) return;
    const spec = liveRewardFigure(rows, { experiment: id, title: status });
    const bundle = final
      ? figureBundle(spec, { plain: status })
      : { [PLOTLY_MIME]: spec, "text/plain": status };
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
      const reward = typeof p.fields.reward === "number" ? ` · reward ${formatValue(p.fields.reward)}` : "";
      status = `${id}: step ${p.step}/${p.total}${reward} · ETA ${formatDuration(p.eta)}`;
      redraw();
    },
  });
  const held = heldOutMetric(result.rows.flatMap((r) => Object.keys(r)));
  const evals = held ? result.rows.filter((r) => r[held] !== undefined).map((r) => r[held]) : [];
  status = `${id}: ${result.stopped ? "stopped" : "done"} after ${result.step} steps${
    evals.length > 1 ? ` · ${held} ${formatValue(evals[0])} → ${formatValue(evals[evals.length - 1])}` : ""
  }`;
  redraw(true);
  await chain;
  (options.log ?? console.log)(`${status}\nrun folder: ${result.outputDir}`);
  return result.outputDir;
}

/** Options of {@linkcode runAllExperiments}. */
export interface RunAllOptions
  extends NotebookRunOptions, Omit<StudyRunAllOptions, "runOne" | "cwd" | "print"> {}

/**
 * Runs every experiment for every seed as one sweep (lib/study `runAllExperiments`): locally with
 * {@linkcode runInNotebook} (live plots), or as a Slurm job array (`backend: "slurm"`). Relative paths in
 * `params` are resolved from `cwd`. Returns the run folders.
 */
export function runAllExperiments(outputsDir: string, options: RunAllOptions = {}): Promise<string[]> {
  const cwd = options.cwd ?? Deno.cwd();
  return runAllStudy(outputsDir, {
    seeds: options.seeds,
    params: notebookParams(options.params ?? {}, cwd),
    ids: options.ids,
    cwd,
    print: options.print,
    backend: options.backend,
    slurm: options.slurm,
    poll: options.poll,
    runOne: (id, params) => runInNotebook(id, params, { ...options, cwd }),
  });
}
