/**
 * Folding a LoRA adapter into the base weights (`W + (alpha / r) · B · A`), for the transformers.js export and
 * the fast decode graph's merged-adapter mode.
 * @module
 */
import type { Weight } from "./graphs.ts";
import type { LoraAdapter } from "./lora.ts";
import { UserError } from "../util/mod.ts";

/** The base weights with `lora` merged in: for each targeted W [out, in], W + scale · B [out, r] · A [r, in]. */
export function mergeLora(
  weights: Map<string, Weight>,
  lora: LoraAdapter | null | undefined,
): Map<string, Weight> {
  if (!lora) return weights;
  const out = new Map(weights);
  const scale = lora.spec.alpha / lora.spec.r;
  for (const [name, a] of lora.tensors) {
    if (!name.endsWith(".lora_A.weight")) continue;
    const path = name.slice("base_model.model.".length, -".lora_A.weight".length);
    const b = lora.tensors.get(name.replace(".lora_A.", ".lora_B."));
    const w = weights.get(`${path}.weight`);
    if (!b || !w) throw new UserError(`LoRA tensor ${name} does not fit this model (no ${path}.weight)`);
    const [fout, fin] = w.shape, r = a.shape[0];
    if (a.shape[1] !== fin || b.shape[0] !== fout || b.shape[1] !== r) {
      throw new UserError(`LoRA tensor ${name} has shape [${a.shape}], ${path}.weight is [${w.shape}]`);
    }
    const merged = Float32Array.from(w.data);
    for (let o = 0; o < fout; o++) {
      for (let k = 0; k < r; k++) {
        const s = scale * b.data[o * r + k];
        if (s === 0) continue;
        const row = o * fin, arow = k * fin;
        for (let i = 0; i < fin; i++) merged[row + i] += s * a.data[arow + i];
      }
    }
    out.set(`${path}.weight`, { shape: w.shape, data: merged });
  }
  return out;
}
