/**
 * The GRPO training loop, a thin orchestrator over small parts: rollouts (`rollout.ts`), the optimizer
 * step (`step.ts`), logs (`logging.ts`), checkpoints (`checkpoint.ts`), the learning-rate schedule
 * (`schedule.ts`) and graceful stopping (`stop.ts`). Same seed → same run, bit for bit on one machine.
 * @module
 */
import { join } from "node:path";
import { adamwInit, type AdamWState, CausalLM, initLora, type LoraAdapter } from "../model/mod.ts";
import type { RewardFunction } from "../rewards/mod.ts";
import {
  acquireFolderLock,
  assertNoEarlierRun,
  checkpointName,
  formatFields,
  Progress,
  type ProgressEvent,
  Rng,
  UserError,
} from "../util/mod.ts";
import { checkConfigForModel, resolveConfig, resolveModelPath, resolveOutputDir } from "./config.ts";
import type { GrpoConfig } from "./config_table.ts";
import {
  findCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  removeStaleTemps,
  saveCheckpoint,
  type TrainingState,
} from "./checkpoint.ts";
import {
  completionRecords,
  type EvalCompletion,
  type JudgeStepStats,
  type MetricsRow,
  RowAverager,
  RunFiles,
  stepRow,
} from "./logging.ts";
import {
  collectRollouts,
  DataOrder,
  type EncodedPrompt,
  type RolloutBatch,
  type TrainExample,
} from "./rollout.ts";
import { learningRateAt } from "./schedule.ts";
import { optimizerStep } from "./step.ts";
import { installSigintHandler, StopSignal } from "./stop.ts";

/** What the trainer hands an {@linkcode Evaluator}. */
export interface EvalContext {
  /** The step being evaluated (0: the base model). */
  step: number;
  /** Records the per-example completions of this evaluation (saved to `eval_completions.jsonl`). */
  record(samples: readonly Omit<EvalCompletion, "step">[]): void;
}

/**
 * Scores the policy on the held-out split; returns metrics such as `{ "eval/accuracy": 0.4 }` and may
 * record its per-example completions through `ctx`.
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

/** A judge whose counters the trainer logs per step (lib/judge's `Judge`). */
export interface JudgeCounters {
  /** Counters since the last reset. */
  stats(): JudgeStepStats;
  /** Zeroes the counters. */
  resetStats(): void;
}

/** Options of {@linkcode train}. */
export interface TrainOptions {
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
  const given = typeof options.rewards === "function"
    ? (config.reward_funcs ?? [])
    : options.rewards.map((r) => r.name);
  const cfg = resolveConfig(config as unknown as Record<string, unknown>, { extraRewards: given });
  if (!options.examples.length) throw new UserError(`experiment ${options.experiment}: no training examples`);
  const log = options.log ?? ((l: string) => console.error(l));
  await checkOutputDir(cfg.output_dir);
  // One writer per run folder (issue 21): held until train() returns or throws, and released on exit.
  await using _lock = await acquireFolderLock(resolveOutputDir(cfg.output_dir), {
    label: "output_dir",
    what: "run",
    log,
  });
  if (cfg.resume_from_checkpoint === null) {
    await assertNoEarlierRun(resolveOutputDir(cfg.output_dir), { overwrite: cfg.overwrite_output_dir });
  }
  const ownModel = !options.model;
  const model = options.model ??
    await CausalLM.load(resolveModelPath(cfg.model), {
      device: cfg.device,
      threads: cfg.threads ?? undefined,
      gradientCheckpointing: cfg.gradient_checkpointing,
    });
  const stop = options.stop ?? new StopSignal();
  const removeSigint = options.handleSigint ?? true ? installSigintHandler(stop, { log }) : () => {};
  try {
    checkConfigForModel(cfg, model.config, model.dir);
    return await runLoop(cfg, model, stop, { ...options, log });
  } finally {
    removeSigint();
    if (ownModel) await model.release();
  }
}

interface Loop {
  step: number;
  lora: LoraAdapter;
  optimizer: AdamWState;
  rng: Rng;
  position: number;
  numTokens: number;
  buffer: { uses: number; batch: RolloutBatch } | null;
}

async function runLoop(
  cfg: GrpoConfig,
  model: CausalLM,
  stop: StopSignal,
  o: TrainOptions & { log: (l: string) => void },
): Promise<TrainResult> {
  const outputDir = resolveOutputDir(cfg.output_dir);
  const leftovers = await removeStaleTemps(outputDir);
  if (leftovers.length) {
    o.log(`${outputDir}: cleaned up ${leftovers.length} leftover(s) of an interrupted write`);
  }
  const files = new RunFiles(outputDir, {
    max_steps: cfg.max_steps,
    logging_steps: cfg.logging_steps,
    eval_steps: cfg.eval_steps,
    save_steps: cfg.save_steps,
  });
  let s: Loop;
  let resumedFrom: string | null = null, restored: MetricsRow[] = [];
  if (cfg.resume_from_checkpoint) {
    const dir = await findCheckpoint(cfg.resume_from_checkpoint, outputDir);
    const c = await loadCheckpoint(dir, { model: model.config, experiment: o.experiment });
    warnConfigChanges(c.state.config, cfg, o.log);
    s = {
      step: c.state.step,
      lora: c.lora,
      optimizer: c.optimizer,
      rng: Rng.fromState(c.state.rng),
      position: c.state.data_position,
      numTokens: c.state.num_tokens,
      buffer: c.state.rollouts,
    };
    restored = c.rows;
    resumedFrom = dir;
    o.log(`resuming ${o.experiment} from ${dir} (step ${s.step} of ${cfg.max_steps})`);
  } else {
    const lora = initLora(model.config, cfg.lora, { seed: cfg.seed, baseModel: cfg.model });
    s = {
      step: 0,
      lora,
      optimizer: adamwInit(lora.tensors),
      rng: new Rng(cfg.seed),
      position: 0,
      numTokens: 0,
      buffer: null,
    };
  }
  const rewards = typeof o.rewards === "function"
    ? await o.rewards({ model, lora: () => s.lora })
    : o.rewards;
  const names = rewards.map((r) => r.name);
  if (names.join(",") !== cfg.reward_funcs.join(",")) {
    throw new UserError(
      `option reward_funcs = ${JSON.stringify(cfg.reward_funcs)} but the rewards given are ${
        JSON.stringify(names)
      }`,
    );
  }
  if (!resumedFrom) {
    const stale = await listCheckpoints(outputDir);
    if (stale.length) {
      o.log(
        `overwrite_output_dir: removing ${stale.length} checkpoint(s) of the earlier run in ${outputDir}`,
      );
      for (const k of stale) await Deno.remove(join(outputDir, checkpointName(k)), { recursive: true });
    }
  }
  const torn = await files.reset(restored, s.step);
  if (torn) {
    o.log(`${outputDir}/completions.jsonl: dropped ${torn} torn last line (the run was killed mid-write)`);
  }
  await files.writeRunConfig(o.experiment, cfg, resumedFrom ? { resumed_from: resumedFrom } : {});
  const emit = async (row: MetricsRow) => {
    await files.log(row);
    o.onLog?.(row);
  };
  const evaluate = async (step: number) => {
    if (!o.evaluate || cfg.eval_size <= 0) return {};
    const recorded: Omit<EvalCompletion, "step">[] = [];
    const metrics = await o.evaluate(model, s.lora, { step, record: (r) => recorded.push(...r) });
    await files.logEvalCompletions(step, recorded);
    return metrics;
  };
  if (s.step === 0 && o.evaluate && cfg.eval_size > 0) {
    const e0 = performance.now();
    const metrics = await evaluate(0);
    if (o.print ?? true) console.error(formatFields("[eval] step 0 (base model)", shownEval(metrics)));
    await emit({ step: 0, ...metrics, "timing/eval_s": (performance.now() - e0) / 1000 });
  }

  const order = new DataOrder(o.examples.length, cfg.seed);
  const promptsPerStep = (cfg.per_device_train_batch_size / cfg.num_generations) *
    cfg.gradient_accumulation_steps;
  const promptCache = new Map<number, EncodedPrompt>();
  const start = s.step;
  const progress = new Progress(start ? `train from ${start}` : "train", cfg.max_steps - start, {
    print: o.print ?? true,
    listeners: o.onProgress ? [o.onProgress] : [],
  });
  const averager = new RowAverager();
  let checkpoint: string | null = null, lastEval: Record<string, number> = {};
  while (s.step < cfg.max_steps && !stop.requested) {
    const step = s.step + 1;
    const t0 = performance.now();
    o.judge?.resetStats();
    let fresh = false;
    if (!s.buffer || s.buffer.uses >= cfg.num_iterations) {
      const indices = order.indices(s.position, promptsPerStep);
      s.position += promptsPerStep;
      const batch = await collectRollouts(model, s.lora, {
        config: cfg,
        examples: o.examples,
        indices,
        rewards,
        rng: s.rng,
        promptCache,
        morePrompts: (count) => {
          const more = order.indices(s.position, count);
          s.position += count;
          return more;
        },
      });
      s.buffer = { uses: 0, batch };
      s.numTokens += batch.tokens;
      fresh = true;
    }
    const judge = o.judge ? o.judge.stats() : null;
    const lr = learningRateAt(step, {
      learningRate: cfg.learning_rate,
      maxSteps: cfg.max_steps,
      warmupRatio: cfg.warmup_ratio,
      type: cfg.lr_scheduler_type,
    });
    const batch = s.buffer.batch;
    const t1 = performance.now();
    const result = await optimizerStep(model, s.lora, batch, { config: cfg, state: s.optimizer, lr });
    const trainS = (performance.now() - t1) / 1000;
    s.buffer.uses++;
    s.step = step;
    const last = step === cfg.max_steps;
    const doEval = !stop.requested && (last || (cfg.eval_steps > 0 && step % cfg.eval_steps === 0));
    const periodicSave = cfg.save_steps > 0 && step % cfg.save_steps === 0;
    const t2 = performance.now();
    if (doEval) lastEval = await evaluate(step);
    const timing = {
      rollout_s: fresh ? batch.timing.rollout_s : 0,
      reward_s: fresh ? batch.timing.reward_s : 0,
      train_s: trainS,
      eval_s: doEval ? (performance.now() - t2) / 1000 : 0,
    };
    const row = stepRow(step, {
      rollouts: batch,
      result,
      learningRate: lr,
      numTokens: s.numTokens,
      stepTime: (t2 - t0) / 1000,
      epoch: s.position / o.examples.length,
      judge,
      timing,
    });
    if (fresh) await files.logCompletions(completionRecords(step, batch, { examples: o.examples }));
    averager.add(row);
    if (doEval) averager.add({ step, ...lastEval });
    if (doEval || periodicSave || last || stop.requested || step % cfg.logging_steps === 0) {
      await emit(averager.flush()!);
    }
    progress.update(step - start, {
      reward: row.reward,
      loss: row.loss,
      // the headline eval metrics; their intervals and counts are in metrics.jsonl
      ...Object.fromEntries(
        Object.entries(shownEval(lastEval)).filter(([k]) => !/_ci_(low|high)$|^eval\/[nk]$/.test(k)),
      ),
      "tok/s": Math.round(batch.tokens / Math.max(row.step_time, 1e-9)),
      time: timingSplit(timing),
    });
    if (periodicSave || last || stop.requested) {
      if (averager.pending) await emit(averager.flush()!);
      const state: TrainingState = {
        experiment: o.experiment,
        step,
        rng: s.rng.state(),
        data_position: s.position,
        num_tokens: s.numTokens,
        rollouts: s.buffer.uses < cfg.num_iterations ? s.buffer : null,
        config: cfg,
      };
      checkpoint = await saveCheckpoint(outputDir, {
        lora: s.lora,
        optimizer: s.optimizer,
        state,
        rows: [...files.rows],
        trainerState: files.state(step),
      });
    }
    if (stop.requested && !last) {
      o.log(`stopped after step ${step} (${stop.reason}); checkpoint written to ${checkpoint}`);
      o.log(`resume with --param resume_from_checkpoint=latest (or =${checkpoint})`);
    }
  }
  if (stop.requested && s.step === start && s.step < cfg.max_steps) {
    o.log(`stopped before step ${start + 1} (${stop.reason}); nothing new to save`);
  }
  return {
    outputDir,
    step: s.step,
    stopped: s.step < cfg.max_steps,
    checkpoint,
    rows: [...files.rows],
    lora: s.lora,
  };
}

/** Evaluation metrics worth a progress line: the judge's call counters stay in the logs only. */
function shownEval(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(m).filter(([k]) =>
      !/^(eval\/judge_|judge\/master_key_)(calls|ok|fallbacks|cache_hits|errors|retries)$/.test(k)
    ),
  );
}

/** `roll 3.1s + reward 0.2s + train 1.5s (+ eval 4.0s)`: where a step's time went, for the progress line. */
export function timingSplit(
  t: { rollout_s: number; reward_s: number; train_s: number; eval_s: number },
): string {
  const f = (x: number) => `${x.toFixed(1)}s`;
  return `roll ${f(t.rollout_s)}+reward ${f(t.reward_s)}+train ${f(t.train_s)}${
    t.eval_s ? `+eval ${f(t.eval_s)}` : ""
  }`;
}

/** Creates the output folder and writes a probe file there; anything in the way → UserError naming it. */
async function checkOutputDir(dir: string): Promise<void> {
  const abs = resolveOutputDir(dir);
  try {
    await Deno.mkdir(abs, { recursive: true });
    const probe = join(abs, `.write-check.${Deno.pid}.tmp`);
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (e) {
    throw new UserError(
      `option output_dir = ${JSON.stringify(dir)}: cannot write to ${abs} (${
        (e as Error).message.split("\n")[0]
      })`,
    );
  }
}

/** Options a resume may change without a notice. */
const RESUMABLE = new Set([
  "resume_from_checkpoint",
  "max_steps",
  "save_steps",
  "eval_steps",
  "logging_steps",
  "output_dir",
]);

function warnConfigChanges(saved: GrpoConfig, now: GrpoConfig, log: (l: string) => void): void {
  const changed = Object.keys(now).filter((k) =>
    !RESUMABLE.has(k) &&
    JSON.stringify((saved as unknown as Record<string, unknown>)[k]) !==
      JSON.stringify((now as unknown as Record<string, unknown>)[k])
  );
  if (changed.length) {
    log(
      `notice: resuming with changed options ${
        changed.join(", ")
      }; the run will not match an uninterrupted one`,
    );
  }
}
