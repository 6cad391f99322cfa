/**
 * The experiment table: one row per experiment (math / dialogue × hard / soft / perplexity /
 * reference-likelihood rewards, and a control per task), each naming its task, its rewards and the
 * options that differ from its task's defaults. Nothing is read from the id: a new experiment is a new
 * row here (or a row passed in, see {@linkcode ExperimentTables}).
 * @module
 */
import { defaultOutputDir, UserError } from "../util/mod.ts";
import { type GrpoConfig, resolveConfig } from "../grpo/mod.ts";
import type { RewardSpec } from "../rewards/mod.ts";
import { getTask, type Task } from "./tasks.ts";

/** The built-in experiment ids. */
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
  "dialogue_random",
] as const;

/** One built-in experiment id. */
export type ExperimentId = typeof EXPERIMENT_IDS[number];

/** An experiment: its task, what scores perplexity, and its default options. */
export interface Experiment {
  /** Its id. */
  id: string;
  /** The name of its task (a row of `TASKS`, e.g. "math" or "dialogue"). */
  task: string;
  /** One line for `--help`. */
  description: string;
  /** Who scores a "perplexity" reward: the policy itself, or a separate frozen LM. */
  perplexity: "policy" | "frozen";
  /** Options that differ from the GRPO defaults: its task's defaults, its rewards, then its own. */
  defaults: Partial<GrpoConfig>;
}

/** Extra rows for the study's tables (a test or a user script adds experiments, tasks and rewards here). */
export interface ExperimentTables {
  /** Experiments beside the built-in ones. */
  experiments?: readonly Experiment[];
  /** Tasks beside the built-in ones. */
  tasks?: readonly Task[];
  /** Rewards beside the built-in ones (`REWARD_TABLE`). */
  rewards?: readonly RewardSpec[];
}

/** One experiment row as written in the table. */
export interface ExperimentRow {
  /** Its id. */
  id: string;
  /** Its task's name. */
  task: string;
  /** One line for `--help`. */
  description: string;
  /** Its rewards (`reward_funcs`), names of reward rows. */
  rewards: string[];
  /** Options over its task's defaults. */
  options?: Partial<GrpoConfig>;
  /** Who scores a "perplexity" reward (default: its task's choice). */
  perplexity?: "policy" | "frozen";
}

/** An {@linkcode Experiment} from its row: the task's defaults, then the rewards, then the row's options. */
export function defineExperiment(row: ExperimentRow, options: { tasks?: readonly Task[] } = {}): Experiment {
  const task = getTask(row.task, options);
  return {
    id: row.id,
    task: task.name,
    description: row.description,
    perplexity: row.perplexity ?? task.perplexity,
    defaults: { ...task.defaults, reward_funcs: row.rewards, ...row.options },
  };
}

const ROWS: ExperimentRow[] = [
  {
    id: "math_hard",
    task: "math",
    description: "math, 2 points for the exact answer in the <answer> slot + format",
    rewards: ["math_hard", "format"],
  },
  {
    id: "math_soft",
    task: "math",
    description: "math, partial credit by relative error + format",
    rewards: ["math_soft", "format"],
  },
  {
    id: "math_perplexity",
    task: "math",
    description: "math, 2/(1+PPL/50) under the policy itself + format",
    rewards: ["perplexity", "format"],
  },
  {
    id: "math_format_only",
    task: "math",
    description: "control: the format reward alone (teaches the format, no correctness signal)",
    rewards: ["format"],
  },
  {
    id: "math_random",
    task: "math",
    description: "control: 2 points with probability 1/2 per completion, seeded (Spurious Rewards, 2025)",
    rewards: ["random"],
  },
  {
    id: "dialogue_hard",
    task: "dialogue",
    description: "dialogue, 2 points when the judge gives ≥ 7/10",
    rewards: ["gemini_hard"],
  },
  {
    id: "dialogue_soft",
    task: "dialogue",
    description: "dialogue, judge score / 5",
    rewards: ["gemini_soft"],
  },
  {
    id: "dialogue_perplexity",
    task: "dialogue",
    description: "dialogue, 2/(1+PPL/50) under a separate frozen LM (the prompt in its chat layout)",
    rewards: ["perplexity"],
  },
  {
    id: "math_refprob",
    task: "math",
    description: "math, RLPR's debiased reward (the policy's probability of the gold answer after its own " +
      "reasoning, minus without it, clipped at 0) + format",
    rewards: ["reference_likelihood_debiased", "format"],
  },
  {
    id: "dialogue_refprob",
    task: "dialogue",
    description:
      "dialogue, 2 × the policy's mean token probability of the reference response after its own answer",
    rewards: ["reference_likelihood"],
  },
  {
    id: "dialogue_random",
    task: "dialogue",
    description: "control: 2 points with probability 1/2 per reply, seeded (the dialogue arms' control)",
    rewards: ["random"],
  },
];

/** The built-in experiments by id. */
export const EXPERIMENTS: Readonly<Record<ExperimentId, Experiment>> = Object.freeze(
  Object.fromEntries(ROWS.map((r) => [r.id, defineExperiment(r)])) as Record<ExperimentId, Experiment>,
);

function allExperiments(tables: ExperimentTables): Experiment[] {
  return [...Object.values(EXPERIMENTS), ...(tables.experiments ?? [])];
}

/** The experiment `id` (built-in, or one of `tables.experiments`), or a UserError listing the known ones. */
export function getExperiment(id: string, tables: ExperimentTables = {}): Experiment {
  const e = allExperiments(tables).find((x) => x.id === id);
  if (!e) {
    const known = allExperiments(tables).map((x) => x.id).join(", ");
    throw new UserError(`unknown experiment "${id}"; known experiments: ${known}`);
  }
  return e;
}

/**
 * The resolved config of experiment `id` with `params` over its defaults (validated). Without an
 * `output_dir` it is the run folder's default for the seed: `outputs/<id>_seed<seed>`.
 */
export function experimentConfig(
  id: string,
  params: Record<string, unknown> = {},
  tables: ExperimentTables = {},
): GrpoConfig {
  const e = getExperiment(id, tables);
  const extraRewards = (tables.rewards ?? []).map((r) => r.name);
  const cfg = resolveConfig(params, { base: e.defaults, extraRewards });
  if (params.output_dir === undefined && e.defaults.output_dir === undefined) {
    cfg.output_dir = defaultOutputDir(id, cfg.seed);
  }
  return cfg;
}

/** `--help` lines listing the experiments. */
export function describeExperiments(tables: ExperimentTables = {}): string {
  return allExperiments(tables).map((e) => `  ${e.id.padEnd(22)} ${e.description}`).join("\n");
}

/**
 * Options that decide what an arm measures, besides its own `defaults`: a run that changed any of them
 * (e.g. `--param max_steps=2`) is not the experiment as defined and is left out of the verdicts. Operational
 * options (threads, device, output folder, logging, checkpoints) are not among them.
 */
export const DEFINING_OPTIONS: readonly string[] = [
  "reward_funcs",
  "model",
  "dataset",
  "max_steps",
  "eval_size",
  "eval_steps",
  "eval_num_samples",
  "learning_rate",
  "num_generations",
  "per_device_train_batch_size",
  "max_completion_length",
  "temperature",
  "beta",
  "loss_type",
  "scale_rewards",
];

/** Each study experiment's defining options, resolved by lib/study, for {@linkcode studyVerdicts}. */
export function experimentDefinitions(): Record<string, Record<string, unknown>> {
  return Object.fromEntries(EXPERIMENT_IDS.map((id) => {
    const cfg = experimentConfig(id) as unknown as Record<string, unknown>;
    const keys = new Set([...Object.keys(EXPERIMENTS[id].defaults), ...DEFINING_OPTIONS]);
    return [id, Object.fromEntries([...keys].filter((k) => k in cfg).map((k) => [k, cfg[k]]))];
  }));
}
