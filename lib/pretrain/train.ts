/**
 * Full-weight next-token training of a {@linkcode CausalLM} on tokenized (prompt, completion) pairs: loss on
 * completion tokens only, AdamW, warmup + cosine schedule, gradient clipping, periodic greedy math
 * evaluation, optional early stop once accuracy reaches a target.
 * @module
 */
import { adamwInit, adamwStep, type CausalLM, clipGradNorm } from "../model/mod.ts";
import type { TokenizedPair } from "./corpus.ts";
import type { MathExample } from "../data/mod.ts";
import { EVAL_METRICS, Progress, Rng } from "../util/mod.ts";

/** Options of {@linkcode pretrain}. */
export interface PretrainOptions {
  steps: number;
  batchSize: number;
  lr: number;
  /** Warmup steps (linear from 0). */
  warmup: number;
  /** The cosine decays to `lr · minLrRatio`. */
  minLrRatio: number;
  weightDecay: number;
  maxGradNorm: number;
  seed: number;
  /** Evaluate every this many steps (0: never). */
  evalEvery: number;
  /** Problems for the periodic evaluation. */
  evalProblems: readonly MathExample[];
  /**
   * Scores the model on the evaluation problems (greedy strict and lenient accuracy and format rate; the
   * CLI gives lib/eval's `evaluateMath`). Required when `evalEvery` > 0.
   */
  evaluate?: (
    model: CausalLM,
    problems: readonly MathExample[],
  ) => Promise<{
    accuracy: number;
    correct: number;
    n: number;
    lenient: { correct: number; rate: number };
    format: { rate: number };
  }>;
  /**
   * Stop once periodic lenient accuracy is at least this (optional). Lenient, because it measures the
   * arithmetic whatever the answer style (stage 1's answers are all tagged, so there both readings agree).
   */
  stopAtAccuracy?: number;
}

/** Learning rate at `step` (0-based): linear warmup then cosine to `lr · minLrRatio`. */
export function lrAt(
  step: number,
  o: Pick<PretrainOptions, "steps" | "lr" | "warmup" | "minLrRatio">,
): number {
  if (step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  const t = (step - o.warmup) / Math.max(1, o.steps - o.warmup);
  return o.lr * (o.minLrRatio + (1 - o.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, t))));
}

/** Right-pads pairs into one batch with next-token-aligned loss weights (mean over loss tokens). */
export function packBatch(pairs: readonly TokenizedPair[], pad: number) {
  const B = pairs.length, T = Math.max(...pairs.map((p) => p.ids.length));
  const ids = new Array<number>(B * T).fill(pad), mask = new Array<number>(B * T).fill(0);
  const weights = new Float64Array(B * T);
  let count = 0;
  pairs.forEach((p, b) => {
    p.ids.forEach((t, i) => {
      ids[b * T + i] = t;
      mask[b * T + i] = 1;
      // next-token alignment: position i predicts token i + 1
      if (i > 0 && p.lossMask[i]) {
        weights[b * T + i - 1] = 1;
        count++;
      }
    });
  });
  for (let i = 0; i < weights.length; i++) weights[i] /= Math.max(count, 1);
  return { batch: { ids, mask, batch: B, length: T }, weights, tokens: count };
}

/** One logged step. */
export interface PretrainLog {
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens_per_s: number;
  /** Strict greedy accuracy (the `<answer>` slot only). */
  [EVAL_METRICS.accuracy]?: number;
  /** Lenient greedy accuracy (the fallback chain). */
  [EVAL_METRICS.accuracyLenient]?: number;
  /** Share of greedy answers in the requested format. */
  [EVAL_METRICS.formatRate]?: number;
}

/** Trains every weight of `model` in place; returns the log. */
export async function pretrain(
  model: CausalLM,
  data: readonly TokenizedPair[],
  o: PretrainOptions,
): Promise<PretrainLog[]> {
  const rng = new Rng(o.seed);
  const params = model.weights as unknown as Map<string, { data: Float32Array }>;
  const state = adamwInit(params);
  const pad = model.tok.padTokenId;
  const progress = new Progress("pretrain", o.steps);
  const log: PretrainLog[] = [];
  let emaLoss = NaN;
  for (let step = 0; step < o.steps; step++) {
    const t0 = performance.now();
    const picked = Array.from({ length: o.batchSize }, () => data[rng.int(data.length)]);
    const { batch, weights, tokens } = packBatch(picked, pad);
    const { loss, grads } = await model.lmStep(batch, weights);
    if (!Number.isFinite(loss)) throw new Error(`pretrain: loss is ${loss} at step ${step}`);
    const norm = clipGradNorm(grads, o.maxGradNorm);
    const lr = lrAt(step, o);
    adamwStep(params, grads, { lr, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: o.weightDecay, state });
    const dt = (performance.now() - t0) / 1000;
    emaLoss = Number.isNaN(emaLoss) ? loss : 0.95 * emaLoss + 0.05 * loss;
    const row: PretrainLog = { step: step + 1, loss, lr, grad_norm: norm, tokens_per_s: tokens / dt };
    const last = step + 1 === o.steps;
    if (o.evalEvery && ((step + 1) % o.evalEvery === 0 || last)) {
      if (!o.evaluate) throw new Error("pretrain: evalEvery > 0 needs an evaluate function");
      const r = await o.evaluate(model, o.evalProblems);
      row[EVAL_METRICS.accuracy] = r.accuracy;
      row[EVAL_METRICS.accuracyLenient] = r.lenient.rate;
      row[EVAL_METRICS.formatRate] = r.format.rate;
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      console.error(
        `[pretrain] step ${step + 1}: held-out accuracy strict ${pct(r.accuracy)}, lenient ${
          pct(r.lenient.rate)
        } (${r.lenient.correct}/${r.n}), format ${pct(r.format.rate)}`,
      );
      await model.release(); // decode sessions hold the old weights as initializers
    }
    log.push(row);
    if ((step + 1) % 10 === 0 || last) {
      progress.update(step + 1, { loss: emaLoss, lr, "tok/s": Math.round(row.tokens_per_s) });
    }
    if (o.stopAtAccuracy !== undefined && (row[EVAL_METRICS.accuracyLenient] ?? -1) >= o.stopAtAccuracy) {
      console.error(
        `[pretrain] reached ${
          (100 * row[EVAL_METRICS.accuracyLenient]!).toFixed(1)
        }% ≥ target; stopping at step ${step + 1}`,
      );
      break;
    }
  }
  return log;
}
