/**
 * Host-side inputs of the model graphs: token batches, the decoder feeds (ids, RoPE tables, attention bias),
 * the scored positions and their targets, LoRA factors as feeds, and scattering `[M]` outputs back to `[B·T]`.
 * @module
 */
import * as ort from "onnxruntime-node";
import { attentionBias, positionsFromMask, ropeTables } from "./inputs.ts";
import type { LlamaShape } from "./llama.ts";
import type { LoraSpec } from "./graphs.ts";
import type { LoraAdapter } from "./lora.ts";

/** A batch of token rows, right- or left-padded, flat row-major. */
export interface TokenBatch {
  /** [B·T] token ids */
  ids: ArrayLike<number>;
  /** [B·T] 1 on real tokens */
  mask: ArrayLike<number>;
  batch: number;
  length: number;
}

/** A float32 feed. */
export const f = (data: Float32Array, dims: number[]): ort.Tensor => new ort.Tensor("float32", data, dims);

/** An int64 feed from numbers. */
export const i64 = (data: ArrayLike<number>, dims: number[]): ort.Tensor =>
  new ort.Tensor("int64", BigInt64Array.from(Array.from(data), (v) => BigInt(v)), dims);

/** Decoder feeds for full sequences: ids, RoPE tables, causal + padding bias. */
export function sequenceFeeds(cfg: LlamaShape, b: TokenBatch): Record<string, ort.Tensor> {
  const { batch: B, length: T } = b;
  const hd = cfg.headDim;
  const pos = positionsFromMask(b.mask, { batch: B, length: T });
  const { cos, sin } = ropeTables(pos, { headDim: hd, theta: cfg.ropeTheta, scaling: cfg.ropeScaling });
  return {
    input_ids: i64(b.ids, [B, T]),
    rope_cos: f(cos as Float32Array, [B, T, hd]),
    rope_sin: f(sin as Float32Array, [B, T, hd]),
    attn_bias: f(attentionBias(b.mask, { batch: B, queries: T, keys: T }) as Float32Array, [B, T, T]),
  };
}

/** Scored positions (flat b·T + t whose next token counts) and their targets, as feeds. */
export function positionFeeds(b: TokenBatch, positions: readonly number[]): Record<string, ort.Tensor> {
  return {
    positions: i64(positions, [positions.length]),
    target_ids: i64(positions.map((i) => b.ids[i + 1]), [positions.length]),
  };
}

/** The adapter's factors as feeds. */
export function loraFeeds(lora: LoraAdapter): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, t] of lora.tensors) out[name] = f(t.data, t.shape);
  return out;
}

/** Flat indices b·T + t (t < T − 1) whose next token is real and `select` holds. */
export function nextTokenPositions(b: TokenBatch, select: (i: number) => boolean): number[] {
  const out: number[] = [];
  for (let r = 0; r < b.batch; r++) {
    for (let t = 0; t + 1 < b.length; t++) {
      const i = r * b.length + t;
      if (b.mask[i + 1] && select(i)) out.push(i);
    }
  }
  return out;
}

/** `into[positions[k]] = values[k]`. */
export function scatter(values: Float32Array, o: { positions: readonly number[]; into: Float32Array }): void {
  o.positions.forEach((p, k) => (o.into[p] = values[k]));
}

/** A cache key for a LoRA spec ("base" without one). */
export function specKey(spec?: LoraSpec): string {
  return spec ? `${spec.r}:${spec.alpha}:${spec.targets.join(",")}` : "base";
}
