/**
 * What the training loop does around each optimizer step, as hooks ({@linkcode StepHooks}): the held-out
 * evaluation (step 0 and whenever due), the metrics (one row per step, averaged over `logging_steps` into
 * `metrics.jsonl`, completions into `completions.jsonl`, a progress line) and the checkpoints. The loop
 * itself is `runSteps` in `trainer.ts`.
 * @module
 */
import type { CausalLM } from "../model/mod.ts";
import { EVAL_METRICS, type EvalCompletion, formatFields, Progress } from "../util/mod.ts";
import type { GrpoConfig } from "./config_table.ts";
import { type LoopState, saveCheckpoint, trainingState } from "./checkpoint.ts";
import { isEvalJudgeCounter, type JudgeStepStats } from "./judge_accounting.ts";
import { completionRecords, type MetricsRow, RowAverager, stepRow } from "./logging.ts";
import type { RolloutBatch } from "./rollout.ts";
import type { RunFiles } from "./run_dir.ts";
import type { StepResult } from "./step.ts";
import type { StopSignal } from "./stop.ts";
import type { TrainOptions } from "./trainer.ts";

/** What one optimizer step produced, for the metrics hook. */
export interface StepRecord {
  /** The step (1-based). */
  step: number;
  /** The rollouts it trained on. */
  batch: RolloutBatch;
  /** Whether they were generated in this step (not reused, `num_iterations` > 1). */
  fresh: boolean;
  /** The optimizer step's losses and norms. */
  result: StepResult;
  /** The learning rate it used. */
  lr: number;
  /** The judge's counters spent by its rewards (null without a judge). */
  judge: JudgeStepStats | null;
  /** The held-out metrics when it was evaluated, else null. */
  evaluation: Record<string, number> | null;
  /** Seconds: the step before evaluation, its optimizer step, its evaluation. */
  seconds: { step: number; train: number; eval: number };
}

/** The loop's hooks. */
export interface StepHooks {
  /** Before the first step: the base model's evaluation when starting at step 0. */
  begin(): Promise<void>;
  /** Evaluates the policy after `step` (only called when due); returns its metrics. */
  evaluate(step: number): Promise<Record<string, number>>;
  /** Logs one step. */
  record(rec: StepRecord): Promise<void>;
  /** Writes a checkpoint of the state after `step` (pending rows logged first). */
  checkpoint(step: number): Promise<void>;
  /** The last checkpoint written (null: none yet). */
  readonly lastCheckpoint: string | null;
}

/** Whether a checkpoint is due after `step`: every `save_steps`, at the end, or when a stop was requested. */
export function checkpointDue(step: number, o: { config: GrpoConfig; stop: StopSignal }): boolean {
  const cfg = o.config;
  return step === cfg.max_steps || o.stop.requested || (cfg.save_steps > 0 && step % cfg.save_steps === 0);
}

/** What {@linkcode trainingHooks} works with. */
export interface HookContext {
  /** The resolved config. */
  config: GrpoConfig;
  /** The model being trained. */
  model: CausalLM;
  /** The run folder's log files. */
  files: RunFiles;
  /** The loop's state (read at every call). */
  state: LoopState;
  /** Stop requests. */
  stop: StopSignal;
}

/** The hooks that evaluate, log and checkpoint a run as `options` say. */
export function trainingHooks(ctx: HookContext, options: TrainOptions): StepHooks {
  return new TrainingHooks(ctx, options);
}

class TrainingHooks implements StepHooks {
  #c: HookContext;
  #o: TrainOptions;
  #start: number;
  #averager = new RowAverager();
  #lastEval: Record<string, number> = {};
  #lastCheckpoint: string | null = null;
  #progress: Progress | null = null;

  constructor(ctx: HookContext, options: TrainOptions) {
    this.#c = ctx;
    this.#o = options;
    this.#start = ctx.state.step;
  }

  get lastCheckpoint(): string | null {
    return this.#lastCheckpoint;
  }

  async begin(): Promise<void> {
    const { config: cfg, state: s } = this.#c, o = this.#o, start = this.#start;
    if (s.step === 0 && o.evaluate && cfg.eval_size > 0) {
      const e0 = performance.now();
      const metrics = await this.evaluate(0);
      if (o.print ?? true) console.error(formatFields("[eval] step 0 (base model)", shownEval(metrics)));
      await this.#emit({ step: 0, ...metrics, "timing/eval_s": (performance.now() - e0) / 1000 });
    }
    this.#progress = new Progress(start ? `train from ${start}` : "train", cfg.max_steps - start, {
      print: o.print ?? true,
      listeners: o.onProgress ? [o.onProgress] : [],
    });
  }

  async evaluate(step: number): Promise<Record<string, number>> {
    const { config: cfg, model, files, state: s } = this.#c, o = this.#o;
    if (!o.evaluate || cfg.eval_size <= 0) return {};
    const recorded: Omit<EvalCompletion, "step">[] = [];
    const metrics = await o.evaluate(model, s.lora, { step, record: (r) => recorded.push(...r) });
    await files.logEvalCompletions(step, recorded);
    return metrics;
  }

  async record(r: StepRecord): Promise<void> {
    const { config: cfg, files, state: s, stop } = this.#c, o = this.#o;
    const timing = {
      rollout_s: r.fresh ? r.batch.timing.rollout_s : 0,
      reward_s: r.fresh ? r.batch.timing.reward_s : 0,
      train_s: r.seconds.train,
      eval_s: r.seconds.eval,
    };
    const row = stepRow(r.step, {
      rollouts: r.batch,
      result: r.result,
      learningRate: r.lr,
      numTokens: s.numTokens,
      stepTime: r.seconds.step,
      epoch: s.position / o.examples.length,
      judge: r.judge,
      timing,
    });
    if (r.fresh) await files.logCompletions(completionRecords(r.step, r.batch, { examples: o.examples }));
    this.#averager.add(row);
    if (r.evaluation) this.#averager.add({ step: r.step, ...(this.#lastEval = r.evaluation) });
    if (r.evaluation || checkpointDue(r.step, { config: cfg, stop }) || r.step % cfg.logging_steps === 0) {
      await this.#emit(this.#averager.flush()!);
    }
    this.#progress!.update(r.step - this.#start, {
      reward: row.reward,
      loss: row.loss,
      ...headlineEval(this.#lastEval), // their intervals and counts are in metrics.jsonl
      "tok/s": Math.round(r.batch.tokens / Math.max(row.step_time, 1e-9)),
      time: timingSplit(timing),
    });
  }

  async checkpoint(step: number): Promise<void> {
    const { config: cfg, files, state: s } = this.#c;
    if (this.#averager.pending) await this.#emit(this.#averager.flush()!);
    this.#lastCheckpoint = await saveCheckpoint(files.dir, {
      lora: s.lora,
      optimizer: s.optimizer,
      state: trainingState(s, { experiment: this.#o.experiment, config: cfg }),
      rows: [...files.rows],
      trainerState: files.state(step),
    });
  }

  async #emit(row: MetricsRow): Promise<void> {
    await this.#c.files.log(row);
    this.#o.onLog?.(row);
  }
}

/** Evaluation metrics worth a progress line: the judge's call counters stay in the logs only. */
function shownEval(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).filter(([k]) => !isEvalJudgeCounter(k)));
}

/** The headline evaluation metrics of a progress line: no intervals, no counts. */
function headlineEval(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(shownEval(m)).filter(([k]) =>
      !/_ci_(low|high)$/.test(k) && k !== EVAL_METRICS.n && k !== EVAL_METRICS.k
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
