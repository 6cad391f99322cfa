/**
 * A training notebook's results, built once for every training notebook: the {@linkcode comparisonView}
 * of its own run folders (integrity, statistics, findings, paired comparisons, as in the report) with the
 * run figures, sample completions from the first and last step, and the completions viewer over training
 * and held-out completions.
 * @module
 */
import { existsSync } from "node:fs";
import type { CompletionRecord } from "../grpo/mod.ts";
import { readJsonLines, runFile, UserError } from "../util/mod.ts";
import { evalViewerItems, trainViewerItems, type ViewerItem } from "./completions_view.ts";
import { type ComparisonView, comparisonView } from "./comparison_view.ts";
import { type LoadedRuns, loadEvalRecords, loadRuns } from "./load.ts";
import { pairedBetween, pairedVsBase } from "./paired.ts";
import { completionsSection, pairedSection, samplesSection, type Section } from "./sections.ts";
import { runLabel } from "./table.ts";

/** Options of {@linkcode runResultsView}. */
export interface RunResultsOptions {
  /** EMA weight of the training curves (default 0.8). */
  smoothing?: number;
  /** Start/end window in steps of the statistics (default 10). */
  window?: number;
  /** Sample completions per run from its first and from its last logged step (default 3). */
  samples?: number;
  /** Most completions in the viewer. */
  maxItems?: number;
  /** Where loading warnings go (default console.warn). */
  log?: (line: string) => void;
}

/** A training notebook's results: the comparison's sections of its runs, plus samples. */
export interface RunResultsView extends ComparisonView {
  /** What was loaded. */
  runs: LoadedRuns["runs"];
  /** Sample completions of each run (first and last step). */
  samples: Section;
}

/**
 * Loads the run folder(s) a training notebook trained and builds their results: figures (reward, reward
 * per function, held-out, length, KL, judge fallback), integrity, statistics, findings, paired held-out
 * comparisons, sample completions and the completions viewer (training and held-out).
 */
export async function runResultsView(
  runDirs: string | readonly string[],
  options: RunResultsOptions = {},
): Promise<RunResultsView> {
  const dirs = typeof runDirs === "string" ? [runDirs] : [...runDirs];
  const loaded = await loadRuns(dirs);
  const evals = await loadEvalRecords(loaded);
  for (const w of [...loaded.warnings, ...evals.warnings]) (options.log ?? console.warn)(w);
  const view = comparisonView(loaded.table, {
    loaded,
    evalRuns: evals.runs,
    window: options.window,
    figures: { smoothing: options.smoothing },
    figureSet: "run",
  });
  const samples = [];
  for (const r of loaded.runs) {
    if (!r.dir) continue;
    // A run that logged no step has no completions file: its samples say "No completions logged."
    const logged = existsSync(runFile(r.dir, "completions"));
    samples.push({
      label: runLabel(r, { withSeed: true }),
      records: logged ? await completionSamples(r.dir, { n: options.samples }) : [],
    });
  }
  const items = [...await trainItems(loaded), ...evalViewerItems(evals.runs)];
  return {
    ...view,
    runs: loaded.runs,
    samples: samplesSection(samples),
    completions: completionsSection(items, { maxItems: options.maxItems, title: "Completions" }),
  };
}

async function trainItems(loaded: Pick<LoadedRuns, "runs">): Promise<ViewerItem[]> {
  const items: ViewerItem[] = [];
  for (const r of loaded.runs) {
    if (!r.dir) continue;
    try {
      const rows = (await readJsonLines<CompletionRecord>(runFile(r.dir, "completions"))).rows;
      items.push(...trainViewerItems(runLabel(r, { withSeed: true }), rows));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new UserError(`${runFile(r.dir, "completions")}: ${(e as Error).message}`);
      }
    }
  }
  return items;
}

/** `n` completions (default 3) from the first and `n` from the last step logged in `<runDir>/completions.jsonl`. */
export async function completionSamples(
  runDir: string,
  options: { n?: number } = {},
): Promise<CompletionRecord[]> {
  const n = options.n ?? 3;
  const path = runFile(runDir, "completions");
  let rows: CompletionRecord[];
  try {
    rows = (await readJsonLines<CompletionRecord>(path)).rows;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UserError(`${path}: missing (has the run logged a step?)`);
    }
    throw new UserError(`${path}: ${(e as Error).message}`);
  }
  rows.forEach((r, i) => {
    if (typeof r?.step !== "number" || typeof r.completion !== "string") {
      throw new UserError(`${path}: record ${i + 1} has no numeric "step" or string "completion"`);
    }
  });
  if (!rows.length) return [];
  const first = rows[0].step, last = rows[rows.length - 1].step;
  const pick = (s: number) => rows.filter((r) => r.step === s).slice(0, n);
  return first === last ? pick(first) : [...pick(first), ...pick(last)];
}

/**
 * The paired held-out comparisons of run folders (each against its base model, and experiments of the
 * same seed against each other on the same problems), as the report shows them.
 */
export async function pairedView(runDirs: readonly string[]): Promise<Section> {
  const loaded = await loadRuns([...runDirs]);
  const evals = await loadEvalRecords(loaded);
  for (const w of evals.warnings) console.warn(w);
  const boot = { seed: 0 };
  return pairedSection([...pairedVsBase(evals.runs, boot), ...pairedBetween(evals.runs, boot)]);
}
