/**
 * Weight-only block quantization in ONNX Runtime's `MatMulNBits` layout (com.microsoft contrib op): a
 * weight `W [N, K]` (HF layout, used as `x · Wᵀ`) becomes `B [N, K/block, block·bits/8]` uint8, one float
 * scale per block and row, symmetric around the op's default zero point `2^(bits−1)`:
 * `W[n, k] ≈ (q[n, k] − 2^(bits−1)) · scale[n, k / block]`. 4-bit values pack two to a byte, the
 * even element in the low nibble.
 * @module
 */

/** Rollout weight precision: full float32, or 8-/4-bit weight-only quantized base weights. */
export type RolloutQuantization = "none" | "int8" | "int4";

/** The accepted {@linkcode RolloutQuantization} values. */
export const ROLLOUT_QUANTIZATIONS: readonly RolloutQuantization[] = ["none", "int8", "int4"];

/** A quantized weight, ready to become `MatMulNBits` initializers. */
export interface QuantizedWeight {
  /** Output features N (rows of the HF weight). */
  n: number;
  /** Input features K. */
  k: number;
  bits: 4 | 8;
  block: number;
  /** `[N, ceil(K / block), block · bits / 8]` */
  data: Uint8Array;
  /** `[N · ceil(K / block)]` */
  scales: Float32Array;
}

/** Bits per weight of a quantization mode. */
export function quantizationBits(q: Exclude<RolloutQuantization, "none">): 4 | 8 {
  return q === "int4" ? 4 : 8;
}

/**
 * Quantizes `w` (`[N, K]` row-major) block-wise along K. The scale of a block is `max|w| / qmax` with qmax =
 * 7 (4 bits) or 127 (8 bits); a block of zeros gets scale 0. K need not be a multiple of the block: the
 * last block is padded with zeros.
 */
export function quantizeWeight(
  w: Float32Array,
  shape: { n: number; k: number },
  o: { bits: 4 | 8; block?: number },
): QuantizedWeight {
  const { n, k } = shape, bits = o.bits, block = o.block ?? 32;
  const blocks = Math.ceil(k / block), blob = (block * bits) / 8;
  const zero = 1 << (bits - 1), qmax = zero - 1;
  const data = new Uint8Array(n * blocks * blob), scales = new Float32Array(n * blocks);
  for (let r = 0; r < n; r++) {
    for (let b = 0; b < blocks; b++) {
      const k0 = b * block, k1 = Math.min(k, k0 + block);
      let amax = 0;
      for (let i = k0; i < k1; i++) amax = Math.max(amax, Math.abs(w[r * k + i]));
      const scale = amax / qmax;
      scales[r * blocks + b] = scale;
      const inv = scale ? 1 / scale : 0, base = (r * blocks + b) * blob;
      for (let j = 0; j < block; j++) {
        const x = k0 + j < k1 ? w[r * k + k0 + j] : 0;
        const q = Math.max(-zero, Math.min(qmax, Math.round(x * inv))) + zero;
        if (bits === 8) data[base + j] = q;
        else data[base + (j >> 1)] |= (j & 1) ? q << 4 : q;
      }
    }
  }
  return { n, k, bits, block, data, scales };
}

/** The float32 weight a {@linkcode QuantizedWeight} stands for (`[N, K]`), for tests and error checks. */
export function dequantizeWeight(q: QuantizedWeight): Float32Array {
  const blocks = Math.ceil(q.k / q.block), blob = (q.block * q.bits) / 8, zero = 1 << (q.bits - 1);
  const out = new Float32Array(q.n * q.k);
  for (let r = 0; r < q.n; r++) {
    for (let i = 0; i < q.k; i++) {
      const b = Math.floor(i / q.block), j = i % q.block, base = (r * blocks + b) * blob;
      const v = q.bits === 8 ? q.data[base + j] : (q.data[base + (j >> 1)] >> ((j & 1) * 4)) & 15;
      out[r * q.k + i] = (v - zero) * q.scales[r * blocks + b];
    }
  }
  return out;
}
