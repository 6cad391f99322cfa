/**
 * Host-side inputs of the decoder graphs: positions from attention masks, RoPE tables and additive attention
 * biases. Small arrays (B·T·hd, B·T·S), computed once per call.
 * @module
 */

/** The additive bias for masked attention (large, finite: fully masked rows stay NaN-free). */
export const MASKED = -1e9;

/**
 * Positions that count real tokens (left padding safe): `cumsum(mask) − 1`, clamped at 0.
 * @param mask [B, T] 0/1
 */
export function positionsFromMask(
  mask: ArrayLike<number>,
  { batch: B, length: T }: { batch: number; length: number },
): Int32Array {
  const pos = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let c = 0;
    for (let t = 0; t < T; t++) {
      c += mask[b * T + t] ? 1 : 0;
      pos[b * T + t] = Math.max(0, c - 1);
    }
  }
  return pos;
}

/** Llama 3's RoPE frequency scaling (`rope_scaling.rope_type = "llama3"`, Llama 3.1 / 3.2). */
export interface Llama3RopeScaling {
  /** Divides the low frequencies (`factor`). */
  factor: number;
  /** `low_freq_factor`: wavelengths above original / this are scaled fully. */
  lowFreqFactor: number;
  /** `high_freq_factor`: wavelengths below original / this are kept. */
  highFreqFactor: number;
  /** `original_max_position_embeddings`. */
  originalMaxPositions: number;
}

/**
 * RoPE inverse frequencies `theta^(−2i/hd)`, i < hd/2; with Llama 3 scaling, long wavelengths are divided by
 * `factor`, short ones kept, and the band between interpolated smoothly (Hugging Face's `llama3` rope type).
 */
export function ropeInvFreq(
  options: { headDim: number; theta: number; scaling?: Llama3RopeScaling },
): Float64Array {
  const hd = options.headDim, inv = new Float64Array(hd / 2), sc = options.scaling;
  for (let i = 0; i < hd / 2; i++) inv[i] = 1 / Math.pow(options.theta, (2 * i) / hd);
  if (!sc) return inv;
  const lowWavelen = sc.originalMaxPositions / sc.lowFreqFactor;
  const highWavelen = sc.originalMaxPositions / sc.highFreqFactor;
  for (let i = 0; i < inv.length; i++) {
    const wavelen = (2 * Math.PI) / inv[i];
    if (wavelen > lowWavelen) inv[i] /= sc.factor;
    else if (wavelen >= highWavelen) {
      const smooth = (sc.originalMaxPositions / wavelen - sc.lowFreqFactor) /
        (sc.highFreqFactor - sc.lowFreqFactor);
      inv[i] = (1 - smooth) * inv[i] / sc.factor + smooth * inv[i];
    }
  }
  return inv;
}

/** RoPE tables `[B·T, hd]` (cos and sin, both halves as in HF `rotate_half`). */
export function ropeTables(
  positions: Int32Array,
  options: { headDim: number; theta: number; scaling?: Llama3RopeScaling; dtype?: "float32" | "float64" },
): { cos: Float32Array | Float64Array; sin: Float32Array | Float64Array } {
  const hd = options.headDim, half = hd / 2;
  const Arr = options.dtype === "float64" ? Float64Array : Float32Array;
  const cos = new Arr(positions.length * hd), sin = new Arr(positions.length * hd);
  const inv = ropeInvFreq(options);
  for (let n = 0; n < positions.length; n++) {
    for (let i = 0; i < half; i++) {
      const a = positions[n] * inv[i];
      const c = Math.cos(a), s = Math.sin(a);
      cos[n * hd + i] = c;
      cos[n * hd + half + i] = c;
      sin[n * hd + i] = s;
      sin[n * hd + half + i] = s;
    }
  }
  return { cos, sin };
}

/**
 * Additive attention bias `[B, T, S]` for T new queries after P cached keys (S = P + T): query t sees key j
 * when j ≤ P + t and `keyMask[b, j]` is 1.
 * @param keyMask [B, S] 0/1 over all keys (cached and new)
 */
export function attentionBias(
  keyMask: ArrayLike<number>,
  options: { batch: number; queries: number; keys: number; dtype?: "float32" | "float64" },
): Float32Array | Float64Array {
  const { batch: B, queries: T, keys: S } = options;
  const P = S - T;
  const out = new (options.dtype === "float64" ? Float64Array : Float32Array)(B * T * S);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * S;
      for (let j = 0; j < S; j++) out[row + j] = j <= P + t && keyMask[b * S + j] ? 0 : MASKED;
    }
  }
  return out;
}

/**
 * The sequence-level (GSPO) ratio inputs for M scored positions (flat indices b·T + t, sorted): `seqMean`
 * [S, M] row s holds 1/n_s on the n_s positions of the s-th sequence present, `seqIndex` [M] names each
 * position's row. `seqMean @ x` is each sequence's mean of x over its scored positions.
 */
export function sequenceMeanInputs(
  positions: readonly number[],
  length: number,
): { seqMean: Float32Array; seqIndex: number[]; sequences: number } {
  const seqIndex: number[] = [], counts: number[] = [];
  let lastRow = -1;
  for (const p of positions) {
    const row = Math.floor(p / length);
    if (row !== lastRow) counts.push(0), lastRow = row;
    seqIndex.push(counts.length - 1);
    counts[counts.length - 1]++;
  }
  const M = positions.length, S = counts.length;
  const seqMean = new Float32Array(S * M);
  seqIndex.forEach((s, m) => (seqMean[s * M + m] = 1 / counts[s]));
  return { seqMean, seqIndex, sequences: S };
}
