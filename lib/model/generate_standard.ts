/**
 * Sampling with a KV cache on the standard-op decode graph (`buildDecodeGraph`, the graph the training graphs
 * share): the path for models the fast contrib-op graph (`generate_fast.ts`) cannot run, and `graph: "standard"`.
 * @module
 */
import type * as ort from "onnxruntime-node";
import type { CausalLM } from "./causal_lm.ts";
import { f, i64, loraFeeds, specKey } from "./feeds.ts";
import { buildDecodeGraph } from "./graphs.ts";
import { attentionBias, positionsFromMask, ropeTables } from "./inputs.ts";
import type { FastGenerateOptions } from "./generate_fast.ts";
import { logSoftmaxAt, sampleToken } from "./sampling.ts";

/** What {@linkcode CausalLM.generate} returns. */
export interface GenerateResult {
  /** New tokens per row, up to and including the first EOS. */
  tokens: number[][];
  /** Whether each row ended with EOS (else it hit `maxNewTokens`). */
  finished: boolean[];
  /** With `returnLogprobs`: log p(token) under the unscaled model distribution, per new token. */
  logprobs?: number[][];
}

/**
 * Options of {@linkcode CausalLM.generate}: those of the fast decode graph ({@linkcode FastGenerateOptions},
 * where each is documented) and which graph runs.
 */
export interface GenerateOptions extends FastGenerateOptions {
  /**
   * "fast" (default): the contrib-op decode graph (`decode_graph.ts`); "standard": the standard-op graph the
   * training graphs share. Models the fast graph cannot run use "standard" (one notice).
   */
  graph?: "fast" | "standard";
}

/** Samples continuations of `o.prompts` (left-padded into one batch) on the standard-op decode graph. */
export async function generateStandard(
  model: CausalLM,
  o: GenerateOptions & { prompts: number[][] },
): Promise<GenerateResult> {
  const { prompts } = o;
  const cfg = model.config, hd = cfg.headDim, V = cfg.vocabSize;
  const spec = o.lora?.spec;
  const s = await model.session(
    `decode|${specKey(spec)}`,
    () => buildDecodeGraph(cfg, model.weights, { lora: spec }),
  );
  const B = prompts.length, P0 = Math.max(...prompts.map((p) => p.length));
  const pad = model.tokenizer?.padTokenId ?? cfg.padTokenId ?? 0;
  const eos = new Set(model.tokenizer?.eosTokenIds ?? cfg.eosTokenIds);
  const lora = o.lora ? loraFeeds(o.lora) : {};
  let keyMask: number[] = [];
  const ids: number[] = [];
  for (const p of prompts) {
    for (let i = 0; i < P0 - p.length; i++) ids.push(pad), keyMask.push(0);
    for (const t of p) ids.push(t), keyMask.push(1);
  }
  let pos = positionsFromMask(keyMask, { batch: B, length: P0 });
  let past: Record<string, ort.Tensor> = {};
  for (let i = 0; i < cfg.numLayers; i++) {
    past[`past.${i}.key`] = f(new Float32Array(0), [B, cfg.numKvHeads, 0, hd]);
    past[`past.${i}.value`] = f(new Float32Array(0), [B, cfg.numKvHeads, 0, hd]);
  }
  let feedIds = ids, T = P0;
  const tokens: number[][] = prompts.map(() => []), finished = prompts.map(() => false);
  const lps: number[][] = prompts.map(() => []);
  for (let step = 0; step < o.maxNewTokens; step++) {
    const S = keyMask.length / B;
    const { cos, sin } = ropeTables(pos, { headDim: hd, theta: cfg.ropeTheta, scaling: cfg.ropeScaling });
    const out = await s.run({
      input_ids: i64(feedIds, [B, T]),
      rope_cos: f(cos as Float32Array, [B, T, hd]),
      rope_sin: f(sin as Float32Array, [B, T, hd]),
      attn_bias: f(attentionBias(keyMask, { batch: B, queries: T, keys: S }) as Float32Array, [B, T, S]),
      positions: i64(Array.from({ length: B }, (_, r) => r * T + T - 1), [B]),
      ...past,
      ...lora,
    });
    const logits = out.logits.data as Float32Array;
    const next: number[] = [];
    for (let r = 0; r < B; r++) {
      if (finished[r]) {
        next.push(pad);
        continue;
      }
      const t = sampleToken(logits, { ...o, offset: r * V, size: V });
      tokens[r].push(t);
      if (o.returnLogprobs) lps[r].push(logSoftmaxAt(logits, { off: r * V, n: V, t: t }));
      if (eos.has(t) && o.stopAtEos !== false) finished[r] = true;
      next.push(t);
    }
    o.onStep?.(step + 1);
    if (finished.every(Boolean)) break;
    past = {};
    for (let i = 0; i < cfg.numLayers; i++) {
      past[`past.${i}.key`] = out[`present.${i}.key`];
      past[`past.${i}.value`] = out[`present.${i}.value`];
    }
    const km: number[] = [];
    for (let r = 0; r < B; r++) km.push(...keyMask.slice(r * S, (r + 1) * S), 1);
    keyMask = km;
    pos = Int32Array.from(prompts, (p) => p.length + step); // the new token's position
    feedIds = next;
    T = 1;
  }
  return o.returnLogprobs ? { tokens, finished, logprobs: lps } : { tokens, finished };
}
