/**
 * Training logs in TRL's metric names: the per-step row ({@linkcode stepRow}), averaging over
 * `logging_steps` ({@linkcode RowAverager}) and the records of `completions.jsonl`
 * ({@linkcode completionRecords}). The run folder's files are written by `run_dir.ts`.
 * @module
 */
import { mean, sampleStd as std } from "../util/mod.ts";
import { JUDGE_SUMMED_METRICS, judgeStepMetrics, type JudgeStepStats } from "./judge_accounting.ts";
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
  if (parts.judge) Object.assign(row, judgeStepMetrics(parts.judge));
  return row;
}

/** Metrics that are running totals or settings: the last value is logged, not the mean. */
const LAST_VALUE = new Set(["num_tokens", "learning_rate", "epoch"]);
/** Metrics summed over the averaged steps. */
const SUMMED = new Set(["prompts/truncated", ...JUDGE_SUMMED_METRICS]);

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
