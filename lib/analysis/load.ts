/**
 * Loads training runs into the tidy table: our trainer's output folders (`run_config.json` +
 * `metrics.jsonl`, or `trainer_state.json`) and TRL `<experiment>.trainer_state.json` files.
 * Non-numeric values ("No Log", null) are skipped and counted; a torn last line of `metrics.jsonl`
 * is dropped and counted; everything else that is wrong is a {@linkcode UserError} naming the file.
 * @module
 */
import { basename, dirname, join, relative } from "node:path";
import { readJsonLines, RUN_FILES, runFile, UserError } from "../util/mod.ts";
import type { EvalRecord, RunEval } from "./paired.ts";

import {
  type ColumnTable,
  type MetricRow,
  normalizeMetricName,
  runLabel,
  type Source,
  tableFromRows,
} from "./table.ts";

/** What was loaded from one file. */
export interface RunInfo {
  /** The file read (`metrics.jsonl` or a `trainer_state.json`). */
  path: string;
  /** "ours" or "trl". */
  source: Source;
  /** Experiment id. */
  experiment: string;
  /** Seed. */
  seed: number;
  /** Logged steps. */
  steps: number;
  /** Distinct metrics. */
  metrics: number;
  /** Torn last lines dropped (metrics.jsonl only). */
  tornLines: number;
  /** Non-numeric values skipped, per metric. */
  skipped: Record<string, number>;
  /** Values of a step logged twice (e.g. after a resume) that a later line replaced. */
  replaced: number;
  /** Our runs: the run folder (absolute or as given), where `eval_completions.jsonl` lives. */
  dir?: string;
  /** Our runs: the resolved options from `run_config.json` (`config`), for the settings table. */
  config?: Record<string, unknown>;
}

/** Result of {@linkcode loadRuns}. */
export interface LoadedRuns {
  /** Tidy table: source, experiment, seed, step, metric, value. */
  table: ColumnTable;
  /** One entry per file loaded. */
  runs: RunInfo[];
  /** One line per counted fallback (torn lines, skipped values, replaced steps). */
  warnings: string[];
}

/** Options of {@linkcode loadRuns}. */
export interface LoadRunsOptions {
  /** Return an empty table instead of throwing when nothing was found (default false). */
  allowEmpty?: boolean;
  /** Paths in messages are shown relative to this folder (default: as given). */
  relativeTo?: string;
}

const TRL_SUFFIX = ".trainer_state.json";

interface Candidate {
  kind: "ours-jsonl" | "ours-state" | "trl";
  path: string;
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new UserError(`${path}: cannot read (${(e as Error).message})`);
  }
}

async function discover(path: string, out: Candidate[], seen = new Set<string>()): Promise<void> {
  const info = await statOrNull(path);
  if (!info) throw new UserError(`${path}: no such file or folder`);
  const name = basename(path);
  if (info.isFile) {
    if (name.endsWith(TRL_SUFFIX) && name.length > TRL_SUFFIX.length) out.push({ kind: "trl", path });
    else if (name === RUN_FILES.metrics) out.push({ kind: "ours-jsonl", path });
    else if (name === RUN_FILES.trainerState) out.push({ kind: "ours-state", path });
    else throw new UserError(`${path}: not a run file (expected metrics.jsonl or <experiment>${TRL_SUFFIX})`);
    return;
  }
  // Symbolic links are followed (a folder of links to run folders); a folder reached twice is read once.
  const real = await Deno.realPath(path);
  if (seen.has(real)) return;
  seen.add(real);
  const entries: { name: string; isFile: boolean; isDirectory: boolean }[] = [];
  for await (const e of Deno.readDir(path)) {
    if (!e.isSymlink) entries.push(e);
    else {
      const target = await statOrNull(join(path, e.name)).catch(() => null);
      if (target) entries.push({ name: e.name, isFile: target.isFile, isDirectory: target.isDirectory });
    }
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  const has = (n: string) => entries.some((e) => e.isFile && e.name === n);
  // A run folder: its own files are the run; nested folders (checkpoints) are not separate runs.
  if (has(RUN_FILES.metrics)) return void out.push({ kind: "ours-jsonl", path: runFile(path, "metrics") });
  if (has(RUN_FILES.trainerState)) {
    return void out.push({ kind: "ours-state", path: runFile(path, "trainerState") });
  }
  for (const e of entries) {
    if (e.isFile && e.name.endsWith(TRL_SUFFIX) && e.name.length > TRL_SUFFIX.length) {
      out.push({ kind: "trl", path: join(path, e.name) });
    } else if (e.isDirectory && !e.name.startsWith(".") && e.name !== "node_modules") {
      await discover(join(path, e.name), out, seen);
    }
  }
}

async function readJson(path: string, shown: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`${shown}: missing`);
    throw new UserError(`${shown}: cannot read (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${shown}: not valid JSON (${(e as Error).message})`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

async function runIdentity(
  dir: string,
  show: (p: string) => string,
): Promise<{ experiment: string; seed: number; config?: Record<string, unknown> }> {
  const path = runFile(dir, "runConfig");
  const cfg = await readJson(path, show(path));
  if (!isObject(cfg)) throw new UserError(`${show(path)}: expected a JSON object`);
  if (typeof cfg.experiment !== "string" || !cfg.experiment) {
    throw new UserError(`${show(path)}: field "experiment" must be a non-empty string`);
  }
  if (typeof cfg.seed !== "number" || !Number.isInteger(cfg.seed)) {
    throw new UserError(`${show(path)}: field "seed" must be an integer, got ${JSON.stringify(cfg.seed)}`);
  }
  return {
    experiment: cfg.experiment,
    seed: cfg.seed,
    ...(isObject(cfg.config) ? { config: cfg.config } : {}),
  };
}

function logHistory(state: unknown, shown: string): unknown[] {
  if (!isObject(state) || !Array.isArray(state.log_history)) {
    throw new UserError(`${shown}: expected a TRL trainer state with a "log_history" array`);
  }
  return state.log_history;
}

/**
 * Turns logged step records into tidy rows. Each record needs a numeric `step`; other fields that
 * are finite numbers become metrics, non-numeric ones are counted in `info.skipped`.
 */
function tidy(records: unknown[], where: (i: number) => string, info: RunInfo): MetricRow[] {
  const byKey = new Map<string, MetricRow>();
  const steps = new Set<number>();
  records.forEach((rec, i) => {
    if (!isObject(rec)) throw new UserError(`${where(i)}: expected a JSON object`);
    const step = rec.step;
    if (typeof step !== "number" || !Number.isFinite(step)) {
      throw new UserError(`${where(i)}: missing numeric "step" (got ${JSON.stringify(step)})`);
    }
    steps.add(step);
    for (const [rawName, v] of Object.entries(rec)) {
      if (rawName === "step") continue;
      const metric = normalizeMetricName(rawName);
      if (typeof v !== "number" || !Number.isFinite(v)) {
        info.skipped[metric] = (info.skipped[metric] ?? 0) + 1;
        continue;
      }
      const key = `${step}\u0000${metric}`;
      if (byKey.has(key)) info.replaced++;
      byKey.set(key, {
        source: info.source,
        experiment: info.experiment,
        seed: info.seed,
        step,
        metric,
        value: v,
      });
    }
  });
  const rows = [...byKey.values()];
  info.steps = steps.size;
  info.metrics = new Set(rows.map((r) => r.metric)).size;
  return rows;
}

function warningsOf(info: RunInfo): string[] {
  const who = `${runLabel(info, { withSeed: info.source === "ours" })} (${info.path})`;
  const out: string[] = [];
  if (info.tornLines) out.push(`${who}: dropped ${info.tornLines} torn last line of metrics.jsonl`);
  for (const [m, n] of Object.entries(info.skipped)) {
    out.push(`${who}: skipped ${n} non-numeric values of "${m}"`);
  }
  if (info.replaced) {
    out.push(`${who}: ${info.replaced} values of re-logged steps replaced by the later line`);
  }
  return out;
}

/**
 * Loads every run found under `paths` (files or folders, searched recursively) into one tidy table.
 * A folder holding `metrics.jsonl` (or `trainer_state.json`) is one of our runs, named by the
 * `run_config.json` beside it; a file `<experiment>.trainer_state.json` is a TRL log (seed 0).
 */
export async function loadRuns(
  paths: string | readonly string[],
  opts: LoadRunsOptions = {},
): Promise<LoadedRuns> {
  const list = typeof paths === "string" ? [paths] : paths;
  const show = (p: string) => (opts.relativeTo ? relative(opts.relativeTo, p) || p : p);
  const found: Candidate[] = [];
  for (const p of list) await discover(p, found);
  const rows: MetricRow[] = [];
  const runs: RunInfo[] = [];
  const seen = new Map<string, string>();
  const empty: string[] = [];
  for (const c of found) {
    const shown = show(c.path);
    const base: Omit<RunInfo, "source" | "experiment" | "seed"> = {
      path: shown,
      steps: 0,
      metrics: 0,
      tornLines: 0,
      skipped: {},
      replaced: 0,
    };
    let info: RunInfo, records: unknown[], where: (i: number) => string;
    if (c.kind === "trl") {
      const experiment = basename(c.path).slice(0, -TRL_SUFFIX.length);
      info = { ...base, source: "trl", experiment, seed: 0 };
      records = logHistory(await readJson(c.path, shown), shown);
      where = (i) => `${shown}: log_history[${i}]`;
    } else {
      const id = await runIdentity(dirname(c.path), show);
      info = { ...base, source: "ours", ...id, dir: dirname(c.path) };
      if (c.kind === "ours-jsonl") {
        let read;
        try {
          read = await readJsonLines(c.path);
        } catch (e) {
          throw new UserError(`${shown}: ${(e as Error).message.replace(`${c.path}:`, "line ")}`);
        }
        records = read.rows;
        info.tornLines = read.torn;
        where = (i) => `${shown}: record ${i + 1}`;
      } else {
        records = logHistory(await readJson(c.path, shown), shown);
        where = (i) => `${shown}: log_history[${i}]`;
      }
    }
    const key = `${info.source}/${info.experiment}/${info.seed}`;
    if (seen.has(key)) {
      throw new UserError(
        `${shown}: ${runLabel(info, { withSeed: true })} was already loaded from ${seen.get(key)}`,
      );
    }
    seen.set(key, shown);
    const runRows = tidy(records, where, info);
    if (!runRows.length) {
      empty.push(`${shown}: no steps logged yet, run skipped`);
      continue;
    }
    rows.push(...runRows);
    runs.push(info);
  }
  if (!runs.length && !opts.allowEmpty) {
    const why = empty.length ? `only empty logs (${empty.join("; ")})` : `no metrics.jsonl or *${TRL_SUFFIX}`;
    throw new UserError(`${list.join(", ")}: no runs found (${why})`);
  }
  return { table: tableFromRows(rows), runs, warnings: [...empty, ...runs.flatMap(warningsOf)] };
}

/** One line per run: `math_hard seed 0 (ours): 100 steps, 24 metrics from outputs/math_hard/metrics.jsonl`. */
export function describeLoaded(loaded: LoadedRuns): string[] {
  return loaded.runs.map((r) =>
    `${runLabel(r, { withSeed: r.source === "ours" })}: ${r.steps} steps, ${r.metrics} metrics from ${r.path}`
  );
}

/**
 * The per-example held-out evaluation logs (`eval_completions.jsonl`) of our loaded runs that have one.
 * Torn last lines are dropped and counted in `warnings`; a record without a numeric `step` and `id`, a
 * string `prompt` and `gold`, and a boolean `correct` or numeric `score` is skipped and counted.
 */
export async function loadEvalRecords(
  loaded: Pick<LoadedRuns, "runs">,
): Promise<{ runs: RunEval[]; warnings: string[] }> {
  const runs: RunEval[] = [], warnings: string[] = [];
  for (const r of loaded.runs) {
    if (r.source !== "ours" || !r.dir) continue;
    const path = runFile(r.dir, "evalCompletions");
    let read;
    try {
      read = await readJsonLines<EvalRecord>(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw new UserError(`${path}: ${(e as Error).message}`);
    }
    const ok = read.rows.filter((x) =>
      isObject(x) && typeof x.step === "number" && typeof x.id === "number" && typeof x.prompt === "string" &&
      typeof x.gold === "string" && (typeof x.correct === "boolean" || typeof x.score === "number")
    );
    const who = runLabel(r, { withSeed: true });
    if (read.torn) warnings.push(`${who} (${path}): dropped ${read.torn} torn last line`);
    if (ok.length < read.rows.length) {
      warnings.push(`${who} (${path}): skipped ${read.rows.length - ok.length} malformed evaluation records`);
    }
    runs.push({ source: r.source, experiment: r.experiment, seed: r.seed, records: ok });
  }
  return { runs, warnings };
}
