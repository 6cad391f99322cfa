/**
 * 16-bit floats ↔ float32: IEEE float16 (`F16`) and bfloat16 (`BF16`), as stored in safetensors checkpoints.
 * Widening is exact; narrowing rounds to nearest, ties to even (as PyTorch's `.half()` / `.bfloat16()`),
 * with overflow to ±Infinity and NaN kept NaN.
 * @module
 */

let halfTable: Float32Array | null = null;

/** float16 bit patterns → float32 values (a table of all 65,536, built once: 256 KiB). */
export function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return (halfTable = t);
}

/** float16 bits → float32 values. */
export function f16ToF32(src: Uint16Array): Float32Array {
  const table = halfToFloatTable(), out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]];
  return out;
}

/** bfloat16 bits → float32 values (the upper half of each float32). */
export function bf16ToF32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length), bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  return out;
}

/** Rounds `mant >> shift` to nearest, ties to even. */
function roundShift(mant: number, shift: number): number {
  const kept = mant >>> shift, rem = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
  return rem > half || (rem === half && (kept & 1)) ? kept + 1 : kept;
}

/** float32 values → float16 bits (round to nearest even; subnormals kept; overflow → ±Infinity). */
export function f32ToF16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length), out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i], sign = (x >>> 16) & 0x8000, exp = (x >>> 23) & 0xff, mant = x & 0x7fffff;
    const e = exp - 127 + 15;
    let h: number;
    if (exp === 0xff) h = 0x7c00 | (mant ? 0x200 : 0); // Infinity or NaN
    else if (e >= 31) h = 0x7c00; // too large: Infinity
    else if (e <= 0) h = e < -10 ? 0 : roundShift(mant | 0x800000, 14 - e); // float16 subnormal (or 0)
    else h = ((e << 10) | (mant >>> 13)) + (roundShift(mant, 13) - (mant >>> 13)); // a carry may reach Infinity
    out[i] = sign | h;
  }
  return out;
}

/** float32 values → bfloat16 bits (round to nearest even; NaN stays NaN). */
export function f32ToBf16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length), out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i];
    if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) out[i] = (x >>> 16) | 0x40; // NaN
    else out[i] = roundShift(x, 16) & 0xffff;
  }
  return out;
}
