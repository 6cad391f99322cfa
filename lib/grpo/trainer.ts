/**
 * The GRPO training loop. {@linkcode train} resolves the config (once), opens the run folder
 * (`run_dir.ts`), loads the model and starts or resumes; `runSteps` is the loop itself, one screen: per
 * step, rollouts (`rollout_collect.ts`), one optimizer step (`step.ts`) at the scheduled learning rate
 * (`schedule.ts`), then the hooks that evaluate, log and checkpoint (`train_hooks.ts`). Judge counters
 * are `judge_accounting.ts`, graceful stopping `stop.ts`. Same seed → same run, bit for bit on one machine.
 * @module
 */
import { adamwInit, CausalLM, initLora, type LoraAdapter } from "../model/mod.ts";
import type { RewardFunction } from "../rewards/mod.ts";
import { type EvalCompletion, type ProgressEvent, Rng, UserError } from "../util/mod.ts";
import { checkConfigForModel, resolveConfig, resolveModelPath } from "./config.ts";
import type { GrpoConfig } from "./config_table.ts";
import { type LoopState, restoredState } from "./checkpoint.ts";
import { type JudgeCounters, type JudgeStepReader, judgeStepReader } from "./judge_accounting.ts";
import type { MetricsRow } from "./logging.ts";
import { DataOrder, type EncodedPrompt, type TrainExample } from "./rollout.ts";
import { collectRollouts } from "./rollout_collect.ts";
import { openRunDir, type RunDir } from "./run_dir.ts";
import { learningRateAt, scheduleOf } from "./schedule.ts";
import { optimizerStep } from "./step.ts";
import { installSigintHandler, StopSignal } from "./stop.ts";
import { checkpointDue, type StepHooks, trainingHooks } from "./train_hooks.ts";

/** What the trainer hands an {@linkcode Evaluator}. */
export interface EvalContext {
  /** The step being evaluated (0: the base model). */
  step: number;
  /** Records the per-example completions of this evaluation (saved to `eval_completions.jsonl`). */
  record(samples: readonly Omit<EvalCompletion, "step">[]): void;
}

/**
 * Scores the policy on the held-out split; returns metrics named as lib/util's `EVAL_METRICS` says
 * (`eval/accuracy`, …) and may record its per-example completions through `ctx`.
 */
export type Evaluator = (
  model: CausalLM,
  lora: LoraAdapter,
  ctx?: EvalContext,
) => Promise<Record<string, number>>;

/** What a reward factory gets: the model and the current adapter (read it at every call). */
export interface RewardEnv {
  /** The model being trained. */
  model: CausalLM;
  /** The current adapter (a new object after a resume, so read it at every call). */
  lora: () => LoraAdapter;
}

/** Rewards, or a factory that builds them once the model and adapter exist (e.g. a policy perplexity scorer). */
export type RewardsSpec =
  | readonly RewardFunction[]
  | ((env: RewardEnv) => readonly RewardFunction[] | Promise<readonly RewardFunction[]>);

/** Options of {@linkcode train}. */
export interface TrainOptions {
  /**
   * `config` is already resolved (the output of `resolveConfig`, as `runExperiment` passes it): it is used
   * as is, not validated again. Default false: `config` is resolved here, with the given rewards' names.
   */
  resolved?: boolean;
  /** Experiment id, recorded in run_config.json and checkpoints. */
  experiment: string;
  /** Training examples (the held-out split already removed). */
  examples: readonly TrainExample[];
  /** Rewards in `reward_funcs` order (their names must match it), or a factory of them. */
  rewards: RewardsSpec;
  /** A loaded model (default: load `config.model` on `config.device`). */
  model?: CausalLM;
  /** Held-out evaluation, run at step 0, every `eval_steps` and at the end. */
  evaluate?: Evaluator;
  /** The judge behind judge rewards: its counters are logged as `judge/*` each step. */
  judge?: JudgeCounters;
  /** Called with every logged row. */
  onLog?: (row: MetricsRow) => void;
  /** Called with every progress update. */
  onProgress?: (e: ProgressEvent) => void;
  /** Print progress lines to stderr (default true). */
  print?: boolean;
  /** Stop requests (default: a new one). */
  stop?: StopSignal;
  /** Make Ctrl-C stop the run gracefully while it trains (default true). */
  handleSigint?: boolean;
  /** Where notices go (default stderr). */
  log?: (line: string) => void;
}

/** What {@linkcode train} returns. */
export interface TrainResult {
  /** The output folder. */
  outputDir: string;
  /** Steps done. */
  step: number;
  /** Whether a stop request ended the run early. */
  stopped: boolean;
  /** The last checkpoint written. */
  checkpoint: string | null;
  /** Every logged row. */
  rows: MetricsRow[];
  /** The trained adapter. */
  lora: LoraAdapter;
}

/** Trains a LoRA adapter with GRPO as `config` says; see the module docs. */
export async function train(config: GrpoConfig, options: TrainOptions): Promise<TrainResult> {
  const cfg = options.resolved ? config : resolveConfig(config as unknown as Record<string, unknown>, {
    extraRewards: typeof options.rewards === "function"
      ? (config.reward_funcs ?? [])
      : options.rewards.map((r) => r.name),
  });
  if (!options.examples.length) throw new UserError(`experiment ${options.experiment}: no training examples`);
  const o = { ...options, log: options.log ?? ((l: string) => console.error(l)) };
  const run = await openRunDir(cfg, { log: o.log });
  try {
    const model = options.model ?? await CausalLM.load(resolveModelPath(cfg.model), {
      device: cfg.device,
      threads: cfg.threads ?? undefined,
      gradientCheckpointing: cfg.gradient_checkpointing,
    });
    const stop = options.stop ?? new StopSignal();
    const removeSigint = options.handleSigint ?? true ? installSigintHandler(stop, { log: o.log }) : () => {};
    try {
      checkConfigForModel(cfg, model.config, { source: model.dir });
      return await trainIn(run, { cfg, model, stop, o });
    } finally {
      removeSigint();
      if (!options.model) await model.release();
    }
  } finally {
    await run.release();
  }
}

/** Everything the loop reads besides its state. */
interface Loop {
  cfg: GrpoConfig;
  model: CausalLM;
  s: LoopState;
  stop: StopSignal;
  rewards: readonly RewardFunction[];
  examples: readonly TrainExample[];
  judge: JudgeStepReader;
  order: DataOrder;
  promptCache: Map<number, EncodedPrompt>;
}

/** Starts or resumes in `run`, builds the rewards, readies the files and runs the steps. */
async function trainIn(
  run: RunDir,
  t: { cfg: GrpoConfig; model: CausalLM; stop: StopSignal; o: TrainOptions & { log: (l: string) => void } },
): Promise<TrainResult> {
  const { cfg, model, stop, o } = t;
  const resumed = await run.resume(model.config, { experiment: o.experiment });
  const s = resumed ? restoredState(resumed) : freshState(cfg, model);
  const rewards = await makeRewards(o.rewards, {
    env: { model, lora: () => s.lora },
    names: cfg.reward_funcs,
  });
  const files = await run.begin({ experiment: o.experiment, resumed });
  const hooks = trainingHooks({ config: cfg, model, files, state: s, stop }, o);
  const start = s.step;
  await hooks.begin();
  await runSteps({
    cfg,
    model,
    s,
    stop,
    rewards,
    examples: o.examples,
    judge: judgeStepReader(o.judge),
    order: new DataOrder(o.examples.length, cfg.seed),
    promptCache: new Map(),
  }, hooks);
  if (stop.requested && s.step < cfg.max_steps) {
    if (s.step === start) o.log(`stopped before step ${start + 1} (${stop.reason}); nothing new to save`);
    else {
      o.log(`stopped after step ${s.step} (${stop.reason}); checkpoint written to ${hooks.lastCheckpoint}`);
      o.log(`resume with --param resume_from_checkpoint=latest (or =${hooks.lastCheckpoint})`);
    }
  }
  const stopped = s.step < cfg.max_steps;
  return {
    outputDir: run.dir,
    step: s.step,
    stopped,
    checkpoint: hooks.lastCheckpoint,
    rows: [...files.rows],
    lora: s.lora,
  };
}

/**
 * The GRPO loop: per step, rollouts (fresh, or the buffered ones reused `num_iterations` times), one
 * optimizer step, the held-out evaluation when due, the step's metrics, and a checkpoint when due. A stop
 * request ends it after the current step (which is then checkpointed).
 */
async function runSteps(t: Loop, hooks: StepHooks): Promise<void> {
  const { cfg, s, stop } = t;
  while (s.step < cfg.max_steps && !stop.requested) {
    const step = s.step + 1, t0 = performance.now();
    t.judge.reset();
    const fresh = await nextRollouts(t);
    const judge = t.judge.read();
    const lr = learningRateAt(step, scheduleOf(cfg));
    const batch = s.buffer!.batch, t1 = performance.now();
    const result = await optimizerStep(t.model, batch, { lora: s.lora, config: cfg, state: s.optimizer, lr });
    const train = (performance.now() - t1) / 1000;
    s.buffer!.uses++;
    s.step = step;
    const evalDue = !stop.requested &&
      (step === cfg.max_steps || (cfg.eval_steps > 0 && step % cfg.eval_steps === 0));
    const t2 = performance.now();
    const evaluation = evalDue ? await hooks.evaluate(step) : null;
    const seconds = { step: (t2 - t0) / 1000, train, eval: evalDue ? (performance.now() - t2) / 1000 : 0 };
    await hooks.record({ step, batch, fresh, result, lr, judge, evaluation, seconds });
    if (checkpointDue(step, { config: cfg, stop })) await hooks.checkpoint(step);
  }
}

/** Readies `t.s.buffer` for the next step: fresh rollouts once the buffered ones were used up; true if fresh. */
async function nextRollouts(t: Loop): Promise<boolean> {
  const { cfg, s } = t;
  if (s.buffer && s.buffer.uses < cfg.num_iterations) return false;
  const draw = (count: number) => {
    const indices = t.order.indices(s.position, count);
    s.position += count;
    return indices;
  };
  const promptsPerStep = (cfg.per_device_train_batch_size / cfg.num_generations) *
    cfg.gradient_accumulation_steps;
  const batch = await collectRollouts(t.model, s.lora, {
    config: cfg,
    examples: t.examples,
    indices: draw(promptsPerStep),
    rewards: t.rewards,
    rng: s.rng,
    promptCache: t.promptCache,
    morePrompts: draw,
  });
  s.buffer = { uses: 0, batch };
  s.numTokens += batch.tokens;
  return true;
}

/** The state of a fresh run: a new adapter (seeded), zero moments, the seeded RNG, nothing drawn yet. */
function freshState(cfg: GrpoConfig, model: CausalLM): LoopState {
  const lora = initLora(model.config, cfg.lora, { seed: cfg.seed, baseModel: cfg.model });
  return {
    step: 0,
    lora,
    optimizer: adamwInit(lora.tensors),
    rng: new Rng(cfg.seed),
    position: 0,
    numTokens: 0,
    buffer: null,
  };
}

/** The rewards of `spec` (built once the model and adapter exist); names not in `reward_funcs` order → UserError. */
async function makeRewards(
  spec: RewardsSpec,
  o: { env: RewardEnv; names: readonly string[] },
): Promise<readonly RewardFunction[]> {
  const rewards = typeof spec === "function" ? await spec(o.env) : spec;
  const names = rewards.map((r) => r.name);
  if (names.join(",") !== o.names.join(",")) {
    throw new UserError(
      `option reward_funcs = ${JSON.stringify(o.names)} but the rewards given are ${JSON.stringify(names)}`,
    );
  }
  return rewards;
}
