/**
 * The study's experiments (math / dialogue × hard / soft / perplexity / reference-likelihood
 * rewards) with their default options, data, rewards and held-out evaluation, and
 * {@linkcode runExperiment}, which validates the options, then trains. Math evaluates greedy accuracy
 * (`eval/accuracy`); dialogue the mean judge score (`eval/judge_score`) and audits the judge with
 * master-key answers (`judge/master_key_score`, every evaluation).
 * @module
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { CausalLM, LoraAdapter } from "../model/mod.ts";
import {
  type DialogueExample,
  dialogueMessages,
  generateDialogues,
  generateMathProblems,
  loadAlpaca,
  loadGsm8k,
  type MathExample,
  mathMessages,
  splitHeldOut,
} from "../data/mod.ts";
import { dialoguePrompt, evaluateDialogue, evaluateMath, mathEvalMetrics } from "../eval/mod.ts";
import {
  createGeminiJudge,
  type Judge as GeminiJudge,
  type JudgeStats,
  probeMasterKeys,
} from "../judge/mod.ts";
import {
  lmPerplexityScorer,
  type PerplexityScorer,
  policyPerplexityScorer,
  policyTargetScorer,
  REWARDS,
} from "../rewards/mod.ts";
import { defaultOutputDir, notice, UserError } from "../util/mod.ts";
import {
  type Evaluator,
  type GrpoConfig,
  resolveConfig,
  resolveModelPath,
  type RewardEnv,
  train,
  type TrainExample,
  type TrainOptions,
  type TrainResult,
} from "../grpo/mod.ts";

/** The experiment ids. */
export const EXPERIMENT_IDS = [
  "math_hard",
  "math_soft",
  "math_perplexity",
  "math_format_only",
  "math_random",
  "dialogue_hard",
  "dialogue_soft",
  "dialogue_perplexity",
  "math_refprob",
  "dialogue_refprob",
] as const;

/** One experiment id. */
export type ExperimentId = typeof EXPERIMENT_IDS[number];

/** An experiment: its task, what scores perplexity, and its default options. */
export interface Experiment {
  /** Its id. */
  id: ExperimentId;
  /** "math" (answers, `eval/accuracy`) or "dialogue" (instructions, `eval/judge_score`). */
  task: "math" | "dialogue";
  /** One line for `--help`. */
  description: string;
  /** Who scores a "perplexity" reward: the policy itself, or a separate frozen LM. */
  perplexity: "policy" | "frozen";
  /** Options that differ from {@linkcode GRPO_DEFAULTS}. */
  defaults: Partial<GrpoConfig>;
}

/**
 * Defaults shared by every math experiment (issue 9 §1, §4). 200 held-out problems: a before/after difference
 * on 100 has a 95 % interval of about ±10 points per measurement (±14 for the difference of two independent
 * ones), too wide to tell a 20-point gain from noise; 200 gives about ±7 (Wilson, p ≈ 0.5), and 400 (±5)
 * would double the evaluations' share of the run. 40 steps with evaluations at 0, 20 and 40: on the embedded
 * model GRPO learns the answer format within about 20 steps, and each evaluation (200 greedy + 800 sampled
 * completions) costs about as much as 10 training steps.
 */
export const MATH_DEFAULTS: Partial<GrpoConfig> = { eval_size: 200, max_steps: 40, eval_steps: 20 };

const exp = (
  id: ExperimentId,
  description: string,
  reward_funcs: string[],
  extra: Partial<GrpoConfig> = {},
): Experiment => ({
  id,
  task: id.startsWith("math") ? "math" : "dialogue",
  description,
  perplexity: id.startsWith("math") ? "policy" : "frozen",
  defaults: { reward_funcs, ...(id.startsWith("math") ? MATH_DEFAULTS : {}), ...extra },
});

/** The experiments by id. */
export const EXPERIMENTS: Readonly<Record<ExperimentId, Experiment>> = Object.freeze({
  math_hard: exp("math_hard", "math, 2 points for the exact answer in the <answer> slot + format", [
    "math_hard",
    "format",
  ]),
  math_soft: exp("math_soft", "math, partial credit by relative error + format", ["math_soft", "format"]),
  math_perplexity: exp(
    "math_perplexity",
    "math, 2/(1+PPL/50) under the policy itself + format",
    ["perplexity", "format"],
  ),
  math_format_only: exp(
    "math_format_only",
    "control: the format reward alone (teaches the format, no correctness signal)",
    ["format"],
  ),
  math_random: exp(
    "math_random",
    "control: 2 points with probability 1/2 per completion, seeded (Spurious Rewards, 2025)",
    ["random"],
  ),
  dialogue_hard: exp("dialogue_hard", "dialogue, 2 points when the judge gives ≥ 7/10", ["gemini_hard"]),
  dialogue_soft: exp("dialogue_soft", "dialogue, judge score / 5", ["gemini_soft"]),
  dialogue_perplexity: exp(
    "dialogue_perplexity",
    "dialogue, 2/(1+PPL/50) under a separate frozen LM + format",
    ["perplexity", "format"],
  ),
  math_refprob: exp(
    "math_refprob",
    "math, 2 × the policy's mean token probability of the gold answer after its own reasoning + format",
    ["reference_likelihood", "format"],
  ),
  dialogue_refprob: exp(
    "dialogue_refprob",
    "dialogue, 2 × the policy's mean token probability of the reference response after its own answer",
    ["reference_likelihood"],
  ),
});

/** The experiment `id`, or a UserError listing the known ones. */
export function getExperiment(id: string): Experiment {
  if (!(EXPERIMENT_IDS as readonly string[]).includes(id)) {
    throw new UserError(`unknown experiment "${id}"; known experiments: ${EXPERIMENT_IDS.join(", ")}`);
  }
  return EXPERIMENTS[id as ExperimentId];
}

/**
 * The resolved config of experiment `id` with `params` over its defaults (validated). Without an
 * `output_dir` it is the run folder's default for the seed: `outputs/<id>_seed<seed>`.
 */
export function experimentConfig(id: string, params: Record<string, unknown> = {}): GrpoConfig {
  const e = getExperiment(id);
  const cfg = resolveConfig(params, { base: e.defaults });
  if (params.output_dir === undefined && e.defaults.output_dir === undefined) {
    cfg.output_dir = defaultOutputDir(id, cfg.seed);
  }
  return cfg;
}

/** Seed of the generated math pool (apart from the tiny model's pretraining corpus, seeds 0 and 1). */
export const GENERATED_MATH_SEED = 20_250_001;
/** Seed of the generated dialogue pool. */
export const GENERATED_DIALOGUE_SEED = 20_250_002;
/** Size of each generated pool (training draws from it; the held-out split comes out of it). */
export const GENERATED_POOL = 4000;

const SHARED = fileURLToPath(new URL("../../../shared/data/", import.meta.url));

/** Training examples and the held-out split of an experiment's data. */
export interface ExperimentData {
  /** Training examples. */
  train: TrainExample[];
  /** Held-out math problems (math experiments). */
  math?: MathExample[];
  /** Held-out dialogues (dialogue experiments). */
  dialogue?: DialogueExample[];
}

function split<T>(
  rows: T[],
  key: (r: T) => string,
  cfg: GrpoConfig,
  source: string,
  log: (l: string) => void,
) {
  const seen = new Set<string>();
  const unique = rows.filter((r) => !seen.has(key(r)) && (seen.add(key(r)), true));
  if (unique.length < rows.length) {
    log(duplicatesLine(source, { total: rows.length, distinct: unique.length }));
  }
  if (cfg.eval_size >= unique.length) {
    throw new UserError(
      `option eval_size = ${cfg.eval_size} leaves no training examples (${source} has ${unique.length})`,
    );
  }
  const perStep = (cfg.per_device_train_batch_size / cfg.num_generations) * cfg.gradient_accumulation_steps;
  if (unique.length - cfg.eval_size < perStep) {
    throw new UserError(
      `${source} has ${
        unique.length - cfg.eval_size
      } training examples after eval_size = ${cfg.eval_size}; one step needs ${perStep} distinct prompts (per_device_train_batch_size / num_generations × gradient_accumulation_steps)`,
    );
  }
  return splitHeldOut(unique, { seed: cfg.seed, heldOut: cfg.eval_size });
}

/** The warning for duplicate prompts: `warning: dataset generated: 3079 of 4000 prompts were duplicates and were dropped (921 distinct left)`. */
export function duplicatesLine(source: string, counts: { total: number; distinct: number }): string {
  const { total, distinct } = counts;
  return `warning: ${source}: ${
    total - distinct
  } of ${total} prompts were duplicates and were dropped (${distinct} distinct left)`;
}

/** Loads (or generates) an experiment's data and splits off `eval_size` held-out examples. */
export async function experimentData(
  e: Experiment,
  cfg: GrpoConfig,
  options: { log?: (line: string) => void } = {},
): Promise<ExperimentData> {
  const log = options.log ?? ((l: string) => void notice(l));
  const d = cfg.dataset;
  if (e.task === "math") {
    let rows: MathExample[];
    if (d === "generated") rows = generateMathProblems(GENERATED_POOL, { seed: GENERATED_MATH_SEED });
    else if (d === "gsm8k") {
      const local = `${SHARED}gsm8k/train.jsonl`;
      rows = (await loadGsm8k(existsSync(local) ? local : "openai/gsm8k", { split: "train" })).rows;
    } else if (d === "alpaca") {
      throw new UserError(`option dataset = "alpaca" is dialogue data; ${e.id} needs math`);
    } else rows = (await loadGsm8k(d)).rows;
    const { train, heldOut } = split(rows, (r) => r.question, cfg, `dataset ${d}`, log);
    return {
      train: train.map((p) => ({ messages: mathMessages(p.question), answer: p.answer })),
      math: heldOut,
    };
  }
  let rows: DialogueExample[];
  if (d === "generated") rows = generateDialogues(GENERATED_POOL, { seed: GENERATED_DIALOGUE_SEED });
  else if (d === "alpaca") rows = (await loadAlpaca("tatsu-lab/alpaca")).rows;
  else if (d === "gsm8k") {
    throw new UserError(`option dataset = "gsm8k" is math data; ${e.id} needs dialogues`);
  } else rows = (await loadAlpaca(d)).rows;
  const { train, heldOut } = split(rows, dialoguePrompt, cfg, `dataset ${d}`, log);
  return {
    train: train.map((x) => ({
      messages: dialogueMessages(x),
      reference: x.output,
      promptText: dialoguePrompt(x),
    })),
    dialogue: heldOut,
  };
}

/** A frozen scorer LM that can be released. */
export type FrozenScorer = PerplexityScorer & { release?: () => Promise<void> };

/** Options of {@linkcode runExperiment}. */
export interface RunExperimentOptions
  extends Pick<TrainOptions, "onLog" | "onProgress" | "print" | "stop" | "handleSigint" | "log"> {
  /** Option values over the experiment's defaults (unknown names → UserError). */
  params?: Record<string, unknown>;
  /** A loaded model to train (default: load `model`). */
  model?: CausalLM;
  /** The judge of dialogue experiments (default `createGeminiJudge()`: Gemini, or its counted fallback). */
  judge?: GeminiJudge;
  /** Builds the policy perplexity scorer (default lib/rewards `policyPerplexityScorer`). */
  policyScorer?: (model: CausalLM, lora: () => LoraAdapter) => PerplexityScorer;
  /** Builds the frozen-LM perplexity scorer (default lib/rewards `lmPerplexityScorer`). */
  frozenScorer?: (idOrDir: string, cfg: GrpoConfig) => Promise<FrozenScorer>;
}

/** Validates the options of experiment `id`, loads its data and trains; returns the trainer's result. */
export async function runExperiment(
  id: string,
  options: RunExperimentOptions = {},
): Promise<TrainResult & { config: GrpoConfig }> {
  const e = getExperiment(id);
  const cfg = experimentConfig(id, options.params ?? {});
  const log = options.log ?? ((l: string) => void notice(l));
  const data = await experimentData(e, cfg, { log });
  const needsJudge = e.task === "dialogue" || cfg.reward_funcs.some((r) => r.startsWith("gemini"));
  const judge = needsJudge ? options.judge ?? createGeminiJudge() : undefined;
  const cleanup: (() => Promise<void>)[] = [];
  const rewards = async (env: RewardEnv) => {
    let scorer: PerplexityScorer | undefined;
    if (cfg.reward_funcs.includes("perplexity")) {
      if (e.perplexity === "policy") {
        scorer = (options.policyScorer ?? ((m, lora) => policyPerplexityScorer(m, { lora })))(
          env.model,
          env.lora,
        );
      } else {
        const ref = cfg.perplexity_model ?? resolveModelPath(cfg.model);
        const make = options.frozenScorer ??
          ((x: string, c: GrpoConfig) =>
            lmPerplexityScorer(x, { device: c.device, threads: c.threads ?? undefined }));
        const frozen = await make(ref, cfg);
        if (frozen.release) cleanup.push(frozen.release);
        scorer = frozen;
      }
    }
    const targetScorer = cfg.reward_funcs.some((r) => r.startsWith("reference_likelihood"))
      ? policyTargetScorer(env.model, { lora: env.lora })
      : undefined;
    return cfg.reward_funcs.map((name) => REWARDS[name]({ scorer, judge, targetScorer, seed: cfg.seed }));
  };
  const maxNewTokens = cfg.max_completion_length;
  const evaluate: Evaluator = e.task === "math"
    ? async (model, lora, ctx) => {
      const r = await evaluateMath(model, data.math!, {
        lora,
        maxNewTokens,
        samples: cfg.eval_num_samples,
        temperature: cfg.temperature,
        topP: cfg.top_p,
        topK: cfg.top_k,
        seed: cfg.seed,
      });
      ctx?.record(r.samples.map((x, id) => ({
        id,
        prompt: x.question,
        completion: x.completion,
        gold: x.gold,
        correct: x.correct,
      })));
      return mathEvalMetrics(r);
    }
    : async (model, lora, ctx) => {
      const before = judge!.stats();
      const r = await evaluateDialogue(model, data.dialogue!, { judge: judge!, lora, maxNewTokens });
      const after = judge!.stats();
      // The judge audit: what it pays for answers that say nothing (cached after the first eval; not
      // counted in eval/judge_*, and the trainer has already read this step's judge counters).
      const probe = await probeMasterKeys(
        judge!,
        data.dialogue!.map((x) => ({ prompt: dialoguePrompt(x), reference: x.output })),
      );
      const probed = judge!.stats();
      ctx?.record(r.samples.map((x, id) => ({
        id,
        prompt: x.prompt,
        completion: x.response,
        gold: x.reference,
        score: x.score,
        source: x.source,
      })));
      return {
        "eval/judge_score": r.score,
        "judge/master_key_score": probe.meanScore,
        "judge/master_key_pass_rate": probe.passRate,
        "judge/master_key_fallback_frac": probe.fallbacks / probe.n,
        ...evalJudgeCounts(after, probed, "judge/master_key_"),
        "eval/judge_fallback_frac": r.sources.fallback / Math.max(1, r.n),
        "eval/reference_overlap": r.overlap,
        "eval/mean_length": r.meanTokens,
        ...evalJudgeCounts(before, after),
      };
    };
  log(
    `experiment ${id}: ${data.train.length} training examples, ${cfg.eval_size} held out; rewards ${
      cfg.reward_funcs.join(" + ")
    }; output ${cfg.output_dir}`,
  );
  try {
    const result = await train(cfg, {
      resolved: true,
      experiment: id,
      examples: data.train,
      rewards,
      model: options.model,
      evaluate,
      judge,
      onLog: options.onLog,
      onProgress: options.onProgress,
      print: options.print,
      stop: options.stop,
      handleSigint: options.handleSigint,
      log,
    });
    return { ...result, config: cfg };
  } finally {
    for (const c of cleanup) await c();
  }
}

/** The judge's counters spent by one evaluation, as `eval/judge_*` (or `prefix*`) metrics (calls = ok + fallbacks + cache hits). */
function evalJudgeCounts(
  before: JudgeStats,
  after: JudgeStats,
  prefix = "eval/judge_",
): Record<string, number> {
  const d = (k: keyof JudgeStats) => after[k] - before[k];
  return {
    [`${prefix}calls`]: d("calls"),
    [`${prefix}ok`]: d("ok"),
    [`${prefix}fallbacks`]: d("fallbacks"),
    [`${prefix}cache_hits`]: d("cacheHits"),
    [`${prefix}errors`]: d("errors"),
    [`${prefix}retries`]: d("retries"),
  };
}

/** `--help` lines listing the experiments. */
export function describeExperiments(): string {
  return EXPERIMENT_IDS.map((id) => `  ${id.padEnd(22)} ${EXPERIMENTS[id].description}`).join("\n");
}
