/**
 * The study's experiments and {@linkcode runExperiment}, which validates an experiment's options, loads its
 * task's data, builds its rewards from their rows (each row says what it needs: a perplexity scorer, a judge,
 * the policy) and its task's held-out evaluation, then trains. The tables live beside this file: tasks in
 * `tasks.ts`, experiments in `experiment_table.ts`, rewards in lib/rewards (`REWARD_TABLE`).
 * @module
 */
import type { CausalLM, LoraAdapter } from "../model/mod.ts";
import { createGeminiJudge, type Judge as GeminiJudge } from "../judge/mod.ts";
import {
  findReward,
  lmPerplexityScorer,
  makeReward,
  type PerplexityScorer,
  policyPerplexityScorer,
  policyTargetScorer,
  REWARD_TABLE,
  type RewardDeps,
  type RewardFunction,
  type RewardNeed,
  type RewardSpec,
} from "../rewards/mod.ts";
import { notice, UserError } from "../util/mod.ts";
import {
  type GrpoConfig,
  resolveModelPath,
  type RewardEnv,
  train,
  type TrainExample,
  type TrainOptions,
  type TrainResult,
} from "../grpo/mod.ts";
import {
  type Experiment,
  experimentConfig,
  type ExperimentTables,
  getExperiment,
} from "./experiment_table.ts";
import { getTask, type Task } from "./tasks.ts";
import { splitRows } from "./task_data.ts";

export * from "./experiment_table.ts";
export * from "./tasks.ts";
export * from "./task_data.ts";

/** Training examples and the held-out split of an experiment's data. */
export interface ExperimentData {
  /** Training examples (the task's prompt layout). */
  train: TrainExample[];
  /** Held-out rows of the task's data (math problems, dialogues, …). */
  heldOut: readonly unknown[];
}

/** Loads (or generates) an experiment's data and splits off `eval_size` held-out examples. */
export async function experimentData(
  e: Experiment,
  cfg: GrpoConfig,
  options: { log?: (line: string) => void; tasks?: readonly Task[] } = {},
): Promise<ExperimentData> {
  const log = options.log ?? ((l: string) => void notice(l));
  const task = getTask(e.task, options);
  const rows = await task.load(cfg, { experiment: e.id });
  const { train, heldOut } = splitRows(rows, cfg, {
    key: (r) => task.promptKey(r),
    source: `dataset ${cfg.dataset}`,
    log,
  });
  return { train: train.map((r) => task.example(r)), heldOut };
}

/** A frozen scorer LM that can be released. */
export type FrozenScorer = PerplexityScorer & { release?: () => Promise<void> };

/** Options of {@linkcode runExperiment}. */
export interface RunExperimentOptions
  extends
    Pick<TrainOptions, "onLog" | "onProgress" | "print" | "stop" | "handleSigint" | "log">,
    ExperimentTables {
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

/** Everything one run is built from. */
interface Plan {
  e: Experiment;
  task: Task;
  cfg: GrpoConfig;
  specs: RewardSpec[];
  judge?: GeminiJudge;
  log: (line: string) => void;
}

/** The reward rows of `names` from `REWARD_TABLE` and `extra` (an unknown name → UserError). */
export function rewardSpecs(names: readonly string[], extra: readonly RewardSpec[] = []): RewardSpec[] {
  const table = [...REWARD_TABLE, ...extra];
  return names.map((n) => {
    const s = findReward(n, { table });
    if (!s) {
      throw new UserError(`unknown reward "${n}"; known rewards: ${table.map((r) => r.name).join(", ")}`);
    }
    return s;
  });
}

function planRun(id: string, options: RunExperimentOptions): Plan {
  const e = getExperiment(id, options);
  const task = getTask(e.task, options);
  const cfg = experimentConfig(id, options.params ?? {}, options);
  const specs = rewardSpecs(cfg.reward_funcs, options.rewards);
  const needsJudge = task.needsJudge || specs.some((s) => s.needs.includes("judge"));
  const judge = needsJudge ? options.judge ?? createGeminiJudge() : undefined;
  return { e, task, cfg, specs, judge, log: options.log ?? ((l: string) => void notice(l)) };
}

/** What building a dependency can use; `cleanup` collects what must be released after training. */
interface NeedContext {
  plan: Plan;
  env: RewardEnv;
  options: RunExperimentOptions;
  cleanup: (() => Promise<void>)[];
}

async function perplexityScorer(c: NeedContext): Promise<PerplexityScorer> {
  const { plan: { e, cfg }, env, options } = c;
  if (e.perplexity === "policy") {
    const make = options.policyScorer ?? ((m, lora) => policyPerplexityScorer(m, { lora }));
    return make(env.model, env.lora);
  }
  const ref = cfg.perplexity_model ?? resolveModelPath(cfg.model);
  const make = options.frozenScorer ??
    ((x: string, o: GrpoConfig) =>
      lmPerplexityScorer(x, { device: o.device, threads: o.threads ?? undefined }));
  const frozen = await make(ref, cfg);
  if (frozen.release) c.cleanup.push(frozen.release);
  return frozen;
}

/** How the study builds each dependency a reward row can need. */
const NEED_BUILDERS: { [K in RewardNeed]: (c: NeedContext) => Promise<RewardDeps[K]> } = {
  scorer: perplexityScorer,
  judge: (c) => Promise.resolve(c.plan.judge),
  targetScorer: (c) => Promise.resolve(policyTargetScorer(c.env.model, { lora: c.env.lora })),
};

/** The dependencies the run's reward rows need (each built once), with the seed and the task's prompt view. */
async function buildDeps(c: NeedContext): Promise<RewardDeps> {
  const deps: RewardDeps = { seed: c.plan.cfg.seed, userTurnPrompts: c.plan.task.userTurnPrompts };
  const needs = new Set(c.plan.specs.flatMap((s) => s.needs));
  for (const k of needs) {
    (deps as Record<RewardNeed, unknown>)[k] = await NEED_BUILDERS[k](c);
  }
  return deps;
}

function rewardsFactory(plan: Plan, options: RunExperimentOptions, cleanup: (() => Promise<void>)[]) {
  return async (env: RewardEnv): Promise<RewardFunction[]> => {
    const deps = await buildDeps({ plan, env, options, cleanup });
    return plan.specs.map((s) => makeReward(s, deps));
  };
}

/** Validates the options of experiment `id`, loads its data and trains; returns the trainer's result. */
export async function runExperiment(
  id: string,
  options: RunExperimentOptions = {},
): Promise<TrainResult & { config: GrpoConfig }> {
  const plan = planRun(id, options);
  const { e, task, cfg, judge, log } = plan;
  const data = await experimentData(e, cfg, { log, tasks: options.tasks });
  const evaluate = task.evaluator(data.heldOut, { cfg, judge });
  log(
    `experiment ${id}: ${data.train.length} training examples, ${cfg.eval_size} held out; rewards ${
      cfg.reward_funcs.join(" + ")
    }; output ${cfg.output_dir}`,
  );
  const cleanup: (() => Promise<void>)[] = [];
  try {
    const result = await train(cfg, {
      resolved: true,
      experiment: id,
      examples: data.train,
      rewards: rewardsFactory(plan, options, cleanup),
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
