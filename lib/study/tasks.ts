/**
 * The task table: one row per task (math, dialogue). A task names its data (the loader behind option
 * `dataset`), its prompt layout (a row → a training example), what its rewards see as the prompt, who
 * scores its perplexity reward, its held-out evaluator and headline metric names (`EVAL_METRICS`),
 * whether it needs a judge, and the option defaults every experiment of the task starts from. Each
 * experiment names its task (lib/study/experiment_table.ts). A new task is a new row here (plus its own
 * data and evaluation files).
 * @module
 */
import type { DialogueExample, MathExample } from "../data/mod.ts";
import { dialogueMessages, mathMessages } from "../data/mod.ts";
import { dialoguePrompt, evaluateDialogue, evaluateMath, mathEvalMetrics } from "../eval/mod.ts";
import { type Judge as GeminiJudge, type JudgeStats, probeMasterKeys } from "../judge/mod.ts";
import { EVAL_JUDGE_PREFIX, EVAL_METRICS, UserError } from "../util/mod.ts";
import type { Evaluator, GrpoConfig, TrainExample } from "../grpo/mod.ts";
import { loadDialogueRows, loadMathRows } from "./task_data.ts";

/** What a task's evaluator is built with. */
export interface TaskEvalContext {
  /** The run's resolved options. */
  cfg: GrpoConfig;
  /** The judge (present when the task or a reward needs one). */
  judge?: GeminiJudge;
}

/** One task: its data, prompt layout, rewards' view of the prompt, evaluation and defaults. */
export interface Task<Row = unknown> {
  /** Its name, which experiments give as their `task`. */
  name: string;
  /** One line for `--help`. */
  description: string;
  /** Every row of the data option `dataset` names (before duplicates are dropped and the split). */
  load(cfg: GrpoConfig, options: { experiment: string }): Promise<readonly Row[]>;
  /** The prompt of a row (rows with the same prompt are duplicates). */
  promptKey(row: Row): string;
  /** The prompt layout: a row as a training example (chat messages, gold answer or reference). */
  example(row: Row): TrainExample;
  /**
   * Whether rewards see the plain user turn (`TrainExample.promptText`) rather than the rendered chat
   * prompt; model-scored rewards then put it back in their model's chat layout.
   */
  userTurnPrompts: boolean;
  /** Who scores a "perplexity" reward by default: the policy itself, or a separate frozen LM. */
  perplexity: "policy" | "frozen";
  /** Whether the held-out evaluation needs a judge. */
  needsJudge: boolean;
  /** Options every experiment of the task starts from (over the GRPO defaults). */
  defaults: Partial<GrpoConfig>;
  /** The headline held-out metrics (from `EVAL_METRICS`), in the order the CLI summarizes them. */
  metrics: readonly string[];
  /** The held-out evaluation over `heldOut`. */
  evaluator(heldOut: readonly Row[], ctx: TaskEvalContext): Evaluator;
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

/** Math word problems: greedy strict / lenient accuracy, format rate and mean@k on held-out problems. */
export const MATH_TASK: Task<MathExample> = {
  name: "math",
  description: "math word problems; held-out strict accuracy (answer in the <answer> slot)",
  load: (cfg, o) => loadMathRows(cfg.dataset, o),
  promptKey: (p) => p.question,
  example: (p) => ({ messages: mathMessages(p.question), answer: p.answer }),
  userTurnPrompts: false,
  perplexity: "policy",
  needsJudge: false,
  defaults: MATH_DEFAULTS,
  metrics: [
    EVAL_METRICS.accuracy,
    EVAL_METRICS.accuracyLenient,
    EVAL_METRICS.formatRate,
    EVAL_METRICS.meanAtK,
  ],
  evaluator: (problems, { cfg }) => async (model, lora, ctx) => {
    const r = await evaluateMath(model, problems, {
      lora,
      maxNewTokens: cfg.max_completion_length,
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
  },
};

/** The judge-audit metric names (master-key answers, scored at every dialogue evaluation). */
export const MASTER_KEY_METRICS = Object.freeze({
  score: "judge/master_key_score",
  passRate: "judge/master_key_pass_rate",
  fallbackFrac: "judge/master_key_fallback_frac",
  prefix: "judge/master_key_",
});

/** The judge's counters spent by one evaluation, as `eval/judge_*` (or `prefix*`) metrics (calls = ok + fallbacks + cache hits). */
export function evalJudgeCounts(
  spent: { before: JudgeStats; after: JudgeStats },
  options: { prefix?: string } = {},
): Record<string, number> {
  const prefix = options.prefix ?? EVAL_JUDGE_PREFIX;
  const d = (k: keyof JudgeStats) => spent.after[k] - spent.before[k];
  return {
    [`${prefix}calls`]: d("calls"),
    [`${prefix}ok`]: d("ok"),
    [`${prefix}fallbacks`]: d("fallbacks"),
    [`${prefix}cache_hits`]: d("cacheHits"),
    [`${prefix}errors`]: d("errors"),
    [`${prefix}retries`]: d("retries"),
  };
}

function dialogueEvaluator(
  examples: readonly DialogueExample[],
  judge: GeminiJudge,
  cfg: GrpoConfig,
): Evaluator {
  return async (model, lora, ctx) => {
    const before = judge.stats();
    const r = await evaluateDialogue(model, examples, {
      judge,
      lora,
      maxNewTokens: cfg.max_completion_length,
    });
    const after = judge.stats();
    // The judge audit: what it pays for answers that say nothing (cached after the first eval; not
    // counted in eval/judge_*, and the trainer has already read this step's judge counters).
    const probe = await probeMasterKeys(
      judge,
      examples.map((x) => ({ prompt: dialoguePrompt(x), reference: x.output })),
    );
    const probed = judge.stats();
    ctx?.record(r.samples.map((x, id) => ({
      id,
      prompt: x.prompt,
      completion: x.response,
      gold: x.reference,
      score: x.score,
      source: x.source,
    })));
    return {
      [EVAL_METRICS.judgeScore]: r.score,
      [MASTER_KEY_METRICS.score]: probe.meanScore,
      [MASTER_KEY_METRICS.passRate]: probe.passRate,
      [MASTER_KEY_METRICS.fallbackFrac]: probe.fallbacks / probe.n,
      ...evalJudgeCounts({ before: after, after: probed }, { prefix: MASTER_KEY_METRICS.prefix }),
      [EVAL_METRICS.judgeFallbackFrac]: r.sources.fallback / Math.max(1, r.n),
      [EVAL_METRICS.referenceOverlap]: r.overlap,
      [EVAL_METRICS.meanLength]: r.meanTokens,
      ...evalJudgeCounts({ before, after }),
    };
  };
}

/**
 * Instructions answered in free text: the judge's mean held-out score beside judge-free measures (reference
 * overlap, length), and a master-key audit of the judge at every evaluation. Rewards see the plain user turn
 * (the judge reads the instruction as a person would).
 */
export const DIALOGUE_TASK: Task<DialogueExample> = {
  name: "dialogue",
  description: "instructions answered in free text; held-out mean judge score",
  load: (cfg, o) => loadDialogueRows(cfg.dataset, o),
  promptKey: dialoguePrompt,
  example: (x) => ({ messages: dialogueMessages(x), reference: x.output, promptText: dialoguePrompt(x) }),
  userTurnPrompts: true,
  perplexity: "frozen",
  needsJudge: true,
  defaults: {},
  metrics: [EVAL_METRICS.judgeScore, EVAL_METRICS.referenceOverlap, EVAL_METRICS.meanLength],
  evaluator: (examples, { cfg, judge }) => {
    if (!judge) {
      throw new UserError(`task dialogue: the held-out evaluation needs a judge, and none was given`);
    }
    return dialogueEvaluator(examples, judge, cfg);
  },
};

/** Every task, one row each. */
export const TASKS: readonly Task[] = Object.freeze([MATH_TASK, DIALOGUE_TASK] as Task[]);

/** The task `name` from `TASKS` and `options.tasks` (extra rows), or a UserError listing the known ones. */
export function getTask(name: string, options: { tasks?: readonly Task[] } = {}): Task {
  const all = [...TASKS, ...(options.tasks ?? [])];
  const t = all.find((x) => x.name === name);
  if (!t) throw new UserError(`unknown task "${name}"; known tasks: ${all.map((x) => x.name).join(", ")}`);
  return t;
}
