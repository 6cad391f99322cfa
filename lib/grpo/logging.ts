/**
 * Training logs in TRL's metric names: the per-step row ({@linkcode stepRow}), averaging over
 * `logging_steps` ({@linkcode RowAverager}), and the run folder's files: `metrics.jsonl` (one line per
 * logged step), `trainer_state.json` (TRL `log_history` layout, rewritten atomically),
 * `completions.jsonl` (every sample with its rewards and advantage) and `run_config.json`.
 * @module
 */
import {
  appendJsonLine,
  type EvalCompletion,
  mean,
  readJsonLines,
  RUN_FILES,
  runFile,
  sampleStd as std,
  writeFileAtomic,
  writeJsonAtomic,
} from "../util/mod.ts";
import type { GrpoConfig } from "./config_table.ts";
import type { RolloutBatch } from "./rollout.ts";
import type { StepResult } from "./step.ts";

/**
 * Whether a metric is a wall-clock measurement (`step_time`, `step_time/…`, `timing/…`): the only
 * values a resumed or repeated run may log differently from an uninterrupted one.
 */
export function isWallClockMetric(name: string): boolean {
  return name === "step_time" || name.startsWith("step_time/") || name.startsWith("timing/");
}

/** One logged row: `step` plus metrics by TRL name. */
export type MetricsRow = { step: number } & Record<string, number>;

/** Judge counters for one step (lib/judge `JudgeStats`). */
export interface JudgeStepStats {
  /** Items scored. */
  calls: number;
  /** Failed attempts. */
  errors: number;
  /** Items scored by the fallback. */
  fallbacks: number;
  /** Items scored by a fresh judge answer (so `calls = ok + fallbacks + cacheHits`). */
  ok?: number;
  /** Items served from the cache. */
  cacheHits?: number;
  /** Attempts repeated after a retryable failure. */
  retries?: number;
  /** Mean ms per judged item. */
  latencyMs: number;
}

/** The metrics of one optimizer step in TRL's names. */
export function stepRow(
  step: number,
  parts: {
    rollouts: RolloutBatch;
    result: StepResult;
    learningRate: number;
    numTokens: number;
    stepTime: number;
    epoch: number;
    judge?: JudgeStepStats | null;
    /** Seconds per phase of this step: rollout_s, reward_s, train_s, eval_s. */
    timing?: Record<string, number>;
  },
): MetricsRow {
  const { rollouts: r, result: s } = parts;
  const row: MetricsRow = { step };
  row.loss = s.loss;
  row.grad_norm = s.gradNorm;
  row.learning_rate = parts.learningRate;
  row.num_tokens = parts.numTokens;
  row.reward = mean(r.rewards.total.filter((x) => Number.isFinite(x))); // NaN (null once resumed): unscorable
  row.reward_std = mean(r.groupStd);
  for (const [name, all] of Object.entries(r.rewards.perFunction)) {
    const values = all.filter((x): x is number => x !== null); // null: the reward did not apply
    row[`rewards/${name}/mean`] = mean(values);
    row[`rewards/${name}/std`] = std(values);
  }
  if (r.rewards.unscorable) row["rewards/unscorable"] = r.rewards.unscorable;
  const lengths = r.samples.map((x) => x.length);
  const term = r.samples.filter((x) => x.terminated).map((x) => x.length);
  row["completions/mean_length"] = mean(lengths);
  row["completions/min_length"] = Math.min(...lengths);
  row["completions/max_length"] = Math.max(...lengths);
  row["completions/clipped_ratio"] = 1 - term.length / Math.max(1, lengths.length);
  row["completions/mean_terminated_length"] = term.length ? mean(term) : 0;
  row["completions/min_terminated_length"] = term.length ? Math.min(...term) : 0;
  row["completions/max_terminated_length"] = term.length ? Math.max(...term) : 0;
  if (s.kl !== null) row.kl = s.kl;
  if (s.entropy !== null) row.entropy = s.entropy;
  row["clip_ratio/low_mean"] = s.clipLow;
  row["clip_ratio/high_mean"] = s.clipHigh;
  row["clip_ratio/region_mean"] = s.clipRegion;
  if (s.sampling) {
    row["sampling/importance_sampling_ratio/min"] = s.sampling.ratioMin;
    row["sampling/importance_sampling_ratio/mean"] = s.sampling.ratioMean;
    row["sampling/importance_sampling_ratio/max"] = s.sampling.ratioMax;
    row["sampling/sampling_logp_difference/mean"] = s.sampling.diffMean;
    row["sampling/sampling_logp_difference/max"] = s.sampling.diffMax;
  }
  row.frac_reward_zero_std = r.fracRewardZeroStd ?? r.zeroStdGroups / Math.max(1, r.groupStd.length);
  if (r.dynamic) {
    row["dynamic_sampling/rounds"] = r.dynamic.rounds;
    row["dynamic_sampling/extra_generations"] = r.dynamic.extraGenerations;
    row["dynamic_sampling/dropped_groups"] = r.dynamic.droppedGroups;
    row["dynamic_sampling/train_groups"] = r.dynamic.trainGroups;
    row["dynamic_sampling/filled"] = r.dynamic.filled ? 1 : 0;
  }
  if (r.maskedTruncated !== undefined) row["completions/masked_truncated"] = r.maskedTruncated;
  row["prompts/truncated"] = r.truncatedPrompts;
  row.step_time = parts.stepTime;
  if (r.referenceSeconds !== undefined) row["step_time/reference"] = r.referenceSeconds;
  if (parts.timing) { for (const [k, v] of Object.entries(parts.timing)) row[`timing/${k}`] = v; }
  row.epoch = parts.epoch;
  if (parts.judge) {
    const j = parts.judge;
    row["judge/calls"] = j.calls;
    if (j.ok !== undefined) row["judge/ok"] = j.ok;
    row["judge/fallbacks"] = j.fallbacks;
    if (j.cacheHits !== undefined) row["judge/cache_hits"] = j.cacheHits;
    row["judge/errors"] = j.errors;
    if (j.retries !== undefined) row["judge/retries"] = j.retries;
    row["judge/fallback_frac"] = j.calls ? j.fallbacks / j.calls : 0;
    row["judge/latency_ms"] = j.latencyMs;
  }
  return row;
}

/** Metrics that are running totals or settings: the last value is logged, not the mean. */
const LAST_VALUE = new Set(["num_tokens", "learning_rate", "epoch"]);
/** Metrics summed over the averaged steps. */
const SUMMED = new Set([
  "prompts/truncated",
  "judge/calls",
  "judge/ok",
  "judge/fallbacks",
  "judge/cache_hits",
  "judge/errors",
  "judge/retries",
]);

/** Averages rows over `logging_steps` (TRL/HF style): means, totals summed, running values last. */
export class RowAverager {
  #rows: MetricsRow[] = [];

  /** Adds one step's row. */
  add(row: MetricsRow): void {
    this.#rows.push(row);
  }

  /** Whether rows are waiting. */
  get pending(): boolean {
    return this.#rows.length > 0;
  }

  /** The combined row at the last added step (or null when none), and resets. */
  flush(): MetricsRow | null {
    if (!this.#rows.length) return null;
    const rows = this.#rows;
    this.#rows = [];
    const out: MetricsRow = { step: rows[rows.length - 1].step };
    const keys = new Set(rows.flatMap((r) => Object.keys(r)));
    keys.delete("step");
    for (const k of keys) {
      const vals = rows.map((r) => r[k]).filter((v) => v !== undefined);
      if (LAST_VALUE.has(k)) out[k] = vals[vals.length - 1];
      else if (SUMMED.has(k)) out[k] = vals.reduce((a, b) => a + b, 0);
      else out[k] = mean(vals);
    }
    return out;
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

/** One completion as logged in `completions.jsonl`. */
export interface CompletionRecord {
  /** The step that generated it. */
  step: number;
  /** The rendered prompt. */
  prompt: string;
  /** The decoded completion. */
  completion: string;
  /** Score of each reward by name (null: not applicable). */
  rewards: Record<string, number | null>;
  /** Weighted total over the rewards that applied (null when none did). */
  reward: number | null;
  /** Group advantage. */
  advantage: number;
  /** The gold answer (math) or reference response (dialogue) the rewards compared against, when known. */
  gold?: string;
}

export type { EvalCompletion } from "../util/mod.ts";

/** File of the held-out evaluation completions in a run folder: one line per problem per evaluation. */
export const EVAL_COMPLETIONS_FILE: string = RUN_FILES.evalCompletions;

/** The completions of a rollout batch as log records; `examples` supplies each sample's gold answer. */
export function completionRecords(
  step: number,
  r: RolloutBatch,
  opts: { examples?: readonly { answer?: string; reference?: string }[] } = {},
): CompletionRecord[] {
  return r.samples.map((s, i) => ({
    step,
    prompt: s.prompt,
    ...goldOf(opts.examples?.[s.example]),
    completion: s.completion,
    rewards: Object.fromEntries(Object.entries(r.rewards.perFunction).map(([k, v]) => [k, v[i]])),
    reward: Number.isFinite(r.rewards.total[i]) ? r.rewards.total[i] : null,
    advantage: r.advantages[i],
  }));
}

function goldOf(e: { answer?: string; reference?: string } | undefined): { gold?: string } {
  const g = e?.answer ?? e?.reference;
  return g === undefined ? {} : { gold: g };
}

/** The files of one run folder. */
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

  /** Writes `run_config.json`: experiment, seed, resolved config, versions, start time (no secrets). */
  async writeRunConfig(
    experiment: string,
    config: GrpoConfig,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    await writeJsonAtomic(
      runFile(this.dir, "runConfig"),
      withoutSecrets({
        experiment,
        seed: config.seed,
        config,
        versions: versions(),
        started_at: new Date().toISOString(),
        ...extra,
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
    const path = runFile(this.dir, "completions");
    let kept: unknown[] = [], torn = 0;
    if (keepCompletionsUpTo > 0) {
      try {
        const read = await readJsonLines<CompletionRecord>(path);
        kept = read.rows.filter((r) => r.step <= keepCompletionsUpTo);
        torn = read.torn;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    await writeFileAtomic(path, kept.map((r) => JSON.stringify(r) + "\n").join(""));
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

  /** Appends held-out evaluation completions of `step` to {@linkcode EVAL_COMPLETIONS_FILE}. */
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
