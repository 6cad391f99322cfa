/**
 * AdamW (decoupled weight decay, bias-corrected moments, as torch.optim.AdamW) and global gradient-norm
 * clipping, over named float32 tensors. The state is plain arrays so checkpoints can save it exactly.
 * @module
 */

/** Named parameters or gradients. */
export type Tensors = Map<string, { data: Float32Array }>;

/** AdamW hyper-parameters. */
export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** Optimizer state: step count and first/second moments per parameter. */
export interface AdamWState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

/** Zero state for `params`. */
export function adamwInit(params: Tensors): AdamWState {
  const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
  for (const [k, p] of params) {
    m.set(k, new Float32Array(p.data.length));
    v.set(k, new Float32Array(p.data.length));
  }
  return { step: 0, m, v };
}

/** The global L2 norm of `grads`. */
export function gradNorm(grads: Tensors): number {
  let s = 0;
  for (const g of grads.values()) for (let i = 0; i < g.data.length; i++) s += g.data[i] * g.data[i];
  return Math.sqrt(s);
}

/** Scales `grads` in place so their global norm is at most `maxNorm`; returns the norm before clipping. */
export function clipGradNorm(grads: Tensors, maxNorm: number): number {
  const norm = gradNorm(grads);
  if (maxNorm > 0 && norm > maxNorm) {
    const s = maxNorm / (norm + 1e-6);
    for (const g of grads.values()) for (let i = 0; i < g.data.length; i++) g.data[i] *= s;
  }
  return norm;
}

/** One AdamW update of `params` in place with learning rate `lr`. */
export function adamwStep(
  params: Tensors,
  grads: Tensors,
  options: AdamWOptions & { lr: number; state: AdamWState },
): void {
  const { beta1: b1, beta2: b2, eps, weightDecay: wd, lr, state } = options;
  state.step++;
  const bc1 = 1 - Math.pow(b1, state.step), bc2 = 1 - Math.pow(b2, state.step);
  for (const [k, p] of params) {
    const g = grads.get(k);
    if (!g) throw new Error(`no gradient for ${k}`);
    const m = state.m.get(k)!, v = state.v.get(k)!, x = p.data, gd = g.data;
    const decay = 1 - lr * wd;
    for (let i = 0; i < x.length; i++) {
      const gi = gd[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      x[i] = x[i] * decay - (lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + eps);
    }
  }
}
