/**
 * The Llama-family decoder (Llama, Qwen2 with q/k/v biases, Qwen3 with per-head q/k norms, SmolLM) as an ONNX
 * graph. Shapes in comments use
 * B batch, T query length, P past length, S = P + T key length, H hidden, nh heads, nkv key/value heads,
 * r = nh / nkv, hd head size, I intermediate size, V vocabulary.
 *
 * GQA uses broadcast matmuls on `[B, nkv, r, T, hd]` queries against `[B, nkv, 1, S, hd]` keys, so keys and
 * values are never copied per head. LoRA adds `scale · (x Aᵀ) Bᵀ` to targeted projections.
 * @module
 */
import {
  attention,
  checkpoint,
  type Dim,
  type DType,
  Graph,
  op,
  rmsNorm,
  rmsNormFused,
  silu,
  softmax,
  swiGlu,
  type Tensor,
} from "../onnx/mod.ts";
import type { Llama3RopeScaling } from "./inputs.ts";

/** The config fields the graphs need; `ModelConfig` (`config.ts`) extends it with what the loader reads. */
export interface LlamaShape {
  /** Rows of the embedding matrix. */
  vocabSize: number;
  /** Model width. */
  hiddenSize: number;
  /** MLP width. */
  intermediateSize: number;
  /** Decoder layers. */
  numLayers: number;
  /** Query heads. */
  numHeads: number;
  /** Key/value heads (grouped-query attention when fewer than `numHeads`). */
  numKvHeads: number;
  /** Width of one head (`head_dim`, else hidden / heads). */
  headDim: number;
  /** RoPE base. */
  ropeTheta: number;
  /** Llama 3 RoPE frequency scaling; every RoPE table must come from `ropeInvFreq` in `inputs.ts` with it. */
  ropeScaling?: Llama3RopeScaling;
  /** RMSNorm epsilon. */
  rmsNormEps: number;
  /** The LM head reuses the embedding matrix. */
  tieWordEmbeddings: boolean;
  /** q/k/v projections have biases (Qwen2 always; Llama and Qwen3 with `attention_bias`). */
  qkvBias: boolean;
  /** Qwen3: RMSNorm of each query and key head over `headDim` before RoPE (`self_attn.q_norm`/`k_norm`). */
  qkNorm?: boolean;
}

/** The seven projections LoRA can target. */
export const LORA_TARGETS = [
  "q_proj",
  "k_proj",
  "v_proj",
  "o_proj",
  "gate_proj",
  "up_proj",
  "down_proj",
] as const;
/** One LoRA target module name. */
export type LoraTarget = typeof LORA_TARGETS[number];

/** Where each projection lives in the HF module tree. */
export const MODULE_SECTION: Record<LoraTarget, "self_attn" | "mlp"> = {
  q_proj: "self_attn",
  k_proj: "self_attn",
  v_proj: "self_attn",
  o_proj: "self_attn",
  gate_proj: "mlp",
  up_proj: "mlp",
  down_proj: "mlp",
};

/** `[in, out]` sizes of a projection. */
export function projectionDims(cfg: LlamaShape, t: LoraTarget): [number, number] {
  const { hiddenSize: H, intermediateSize: I, numHeads: nh, numKvHeads: nkv, headDim: hd } = cfg;
  switch (t) {
    case "q_proj":
      return [H, nh * hd];
    case "k_proj":
    case "v_proj":
      return [H, nkv * hd];
    case "o_proj":
      return [nh * hd, H];
    case "gate_proj":
    case "up_proj":
      return [H, I];
    case "down_proj":
      return [I, H];
  }
}

/** Shape of each named HF weight for `cfg` (the layout `model.safetensors` uses). */
export function weightShapes(cfg: LlamaShape): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const { hiddenSize: H, vocabSize: V } = cfg;
  m.set("model.embed_tokens.weight", [V, H]);
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}.`;
    m.set(p + "input_layernorm.weight", [H]);
    m.set(p + "post_attention_layernorm.weight", [H]);
    for (const t of LORA_TARGETS) {
      const [fin, fout] = projectionDims(cfg, t);
      m.set(`${p}${MODULE_SECTION[t]}.${t}.weight`, [fout, fin]);
      if (cfg.qkvBias && (t === "q_proj" || t === "k_proj" || t === "v_proj")) {
        m.set(`${p}self_attn.${t}.bias`, [fout]);
      }
    }
    if (cfg.qkNorm) {
      m.set(p + "self_attn.q_norm.weight", [cfg.headDim]);
      m.set(p + "self_attn.k_norm.weight", [cfg.headDim]);
    }
  }
  m.set("model.norm.weight", [H]);
  if (!cfg.tieWordEmbeddings) m.set("lm_head.weight", [V, H]);
  return m;
}

/** Gives the graph tensor for a named HF weight (an initializer or a trainable input). */
export type ParamFn = (name: string) => Tensor;

/** LoRA factors for each targeted module path (e.g. `model.layers.0.self_attn.q_proj`). */
export interface LoraParams {
  /** alpha / r */
  scale: number;
  /** A: [r, in], B: [out, r] (PEFT layout). */
  modules: Map<string, { a: Tensor; b: Tensor }>;
}

/** Declares LoRA inputs named as PEFT does (`base_model.model.<module>.lora_A.weight`). */
export function loraInputs(
  g: Graph,
  o: { cfg: LlamaShape; spec: { r: number; alpha: number; targets: readonly LoraTarget[] }; dtype: DType },
): LoraParams {
  const { cfg, spec, dtype } = o;
  const modules = new Map<string, { a: Tensor; b: Tensor }>();
  for (let i = 0; i < cfg.numLayers; i++) {
    for (const t of spec.targets) {
      const path = `model.layers.${i}.${MODULE_SECTION[t]}.${t}`;
      const [fin, fout] = projectionDims(cfg, t);
      const a = g.input(`base_model.model.${path}.lora_A.weight`, dtype, [spec.r, fin]);
      const b = g.input(`base_model.model.${path}.lora_B.weight`, dtype, [fout, spec.r]);
      modules.set(path, { a, b });
    }
  }
  return { scale: spec.alpha / spec.r, modules };
}

/** Run-time inputs of the decoder. */
export interface DecoderInputs {
  /** [B, T] int64 token ids */
  ids: Tensor;
  /** [B, T, hd] RoPE cosines (both halves), from the token positions */
  cos: Tensor;
  /** [B, T, hd] RoPE sines */
  sin: Tensor;
  /** [B, T, S] additive attention bias: 0 where allowed, a large negative number elsewhere */
  bias: Tensor;
  /** Per layer [B, nkv, P, hd] cached keys and values (decoding); absent for full-sequence graphs. */
  past?: { k: Tensor; v: Tensor }[];
}

/** What the decoder returns. */
export interface DecoderOutputs {
  /** [N = B·T, H] final-norm hidden states (row b·T + t) */
  hidden: Tensor;
  /** Per layer [B, nkv, S, hd] keys and values including this call's tokens. */
  present: { k: Tensor; v: Tensor }[];
}

function proj(x: Tensor, p: ParamFn, path: string, lora: LoraParams | null, bias: boolean): Tensor {
  // x: [N, in]; W: [out, in] used as stored (Gemm transB) -> y: [N, out]
  let y = op.gemm(x, p(`${path}.weight`), { transB: true, c: bias ? p(`${path}.bias`) : undefined });
  const l = lora?.modules.get(path);
  if (l) {
    // [N, in] · A[r, in]ᵀ -> [N, r] · B[out, r]ᵀ -> [N, out]
    const low = op.gemm(op.gemm(x, l.a, { transB: true }), l.b, { transB: true });
    y = op.add(y, op.mul(low, lora!.scale));
  }
  return y;
}

/** [N, heads·hd] -> [B, T, heads, hd], with `bt` the run-time [B, T]. */
function toHeads(y: Tensor, bt: Tensor, like: Tensor, heads: number, hd: number): Tensor {
  const shape = op.concat([bt, y.graph.ints([heads, hd])], 0);
  return y.graph.node("Reshape", [y, shape], [{
    dtype: y.dtype,
    shape: [like.shape[0], like.shape[1], heads, hd],
  }])[0];
}

function rope(x: Tensor, cos: Tensor, sin: Tensor, hd: number): Tensor {
  // x: [B, T, heads, hd]; cos/sin: [B, T, 1, hd]
  const [x1, x2] = op.split(x, [hd / 2, hd / 2], -1);
  const rotated = op.concat([op.neg(x2), x1], -1);
  return op.add(op.mul(x, cos), op.mul(rotated, sin));
}

/** How the decoder's graph is built. */
export interface DecoderOptions {
  /** Gradient-free graph: ORT's fused norm and softmax kernels, no VJP (default false). */
  fused?: boolean;
  /**
   * Differentiable graphs: composites with their own VJP (fused-kernel forward; the backward recomputes
   * softmax, SiLU and the norms from the GEMM outputs it keeps) (default true). False: the primitive
   * composites, differentiated node by node (every intermediate is kept).
   */
  recompute?: boolean;
  /** Differentiable graphs: keep only each layer's input and recompute the layer in the backward. */
  checkpoint?: boolean;
}

type Kernels = {
  norm: (x: Tensor, w: Tensor, eps: number) => Tensor;
  attend: (q: Tensor, k: Tensor, v: Tensor, bias: Tensor) => Tensor;
  glu: (gate: Tensor, up: Tensor) => Tensor;
};

function fusedNode(op_: string, x: Tensor, w: Tensor[], attrs: Record<string, unknown>): Tensor {
  return x.graph.node(op_, [x, ...w], [{ dtype: x.dtype, shape: [...x.shape] }], attrs as never)[0];
}

/**
 * Norm, attention and SwiGLU: in gradient-free graphs ORT's fused kernels (`SimplifiedLayerNormalization`,
 * `Softmax`, no VJP rule: autodiff through them is a loud error); in training graphs the composites with
 * their own VJP (`lib/onnx/fused.ts`), or the primitive composites when `recompute` is false.
 */
function kernels(o: DecoderOptions): Kernels {
  if (o.fused) {
    return {
      norm: (x, w, eps) =>
        fusedNode("SimplifiedLayerNormalization", x, [w], { axis: -1, epsilon: { float: eps } }),
      attend: (q, k, v, bias) =>
        op.matmul(fusedNode("Softmax", op.add(op.matmul(q, op.transposeLast(k)), bias), [], { axis: -1 }), v),
      glu: (gate, up) => op.mul(silu(gate), up),
    };
  }
  if (o.recompute ?? true) return { norm: rmsNormFused, attend: attention, glu: swiGlu };
  return {
    norm: rmsNorm,
    attend: (q, k, v, bias) => op.matmul(softmax(op.add(op.matmul(q, op.transposeLast(k)), bias), -1), v),
    glu: (gate, up) => op.mul(silu(gate), up),
  };
}

/** What {@linkcode decoder} builds on: the weights, the adapter, the run-time inputs, and how. */
export interface DecoderCall extends DecoderOptions {
  /** The weights (initializers or trainable inputs). */
  params: ParamFn;
  /** LoRA factors (absent or null: the base model). */
  lora?: LoraParams | null;
  /** The run-time inputs. */
  inputs: DecoderInputs;
}

/**
 * Builds the decoder stack up to the final norm. Activations stay 2-D, `[N = B·T, H]`, so every projection is
 * one Gemm on the weight as stored.
 */
export function decoder(cfg: LlamaShape, o: DecoderCall): DecoderOutputs {
  const { params: p, inputs: inp, ...options } = o;
  const lora = o.lora ?? null;
  const { norm, attend, glu } = kernels(options);
  const { numHeads: nh, numKvHeads: nkv, headDim: hd, hiddenSize: H } = cfg;
  const r = nh / nkv;
  const bt = op.shapeOf(inp.ids); // [2] = (B, T)
  let x = op.reshape(op.gather(p("model.embed_tokens.weight"), inp.ids), [-1, H]); // [N, H]
  const cos = op.unsqueeze(inp.cos, [2]); // [B, T, 1, hd]
  const sin = op.unsqueeze(inp.sin, [2]);
  const bias = op.unsqueeze(inp.bias, [1, 2]); // [B, 1, 1, T, S]
  const present: { k: Tensor; v: Tensor }[] = [];
  const layer = (i: number, xin: Tensor, keep: boolean): Tensor => {
    const L = `model.layers.${i}`;
    const h = norm(xin, p(`${L}.input_layernorm.weight`), cfg.rmsNormEps); // [N, H]
    const qb = cfg.qkvBias;
    const heads = (name: string, n: number) =>
      toHeads(proj(h, p, `${L}.self_attn.${name}`, lora, qb), bt, inp.ids, n, hd);
    // Qwen3: RMSNorm over hd of each head, before RoPE
    const qkNorm = (x: Tensor, name: string) =>
      cfg.qkNorm ? norm(x, p(`${L}.self_attn.${name}.weight`), cfg.rmsNormEps) : x;
    const q = rope(qkNorm(heads("q_proj", nh), "q_norm"), cos, sin, hd); // [B, T, nh, hd]
    const k = rope(qkNorm(heads("k_proj", nkv), "k_norm"), cos, sin, hd); // [B, T, nkv, hd]
    const v = heads("v_proj", nkv);
    let kt = op.transpose(k, [0, 2, 1, 3]); // [B, nkv, T, hd]
    let vt = op.transpose(v, [0, 2, 1, 3]);
    if (inp.past) {
      kt = op.concat([inp.past[i].k, kt], 2); // [B, nkv, S, hd]
      vt = op.concat([inp.past[i].v, vt], 2);
    }
    if (keep) present.push({ k: kt, v: vt });
    // queries [B, T, nh, hd] -> [B, T, nkv, r, hd] -> [B, nkv, r, T, hd], pre-scaled by 1/sqrt(hd)
    const q5 = op.mul(op.transpose(op.reshape(q, [0, 0, nkv, r, hd]), [0, 2, 3, 1, 4]), 1 / Math.sqrt(hd));
    const k5 = op.unsqueeze(kt, [2]); // [B, nkv, 1, S, hd]
    const v5 = op.unsqueeze(vt, [2]);
    const att = attend(q5, k5, v5, bias); // [B, nkv, r, T, hd]
    const merged = op.reshape(op.transpose(att, [0, 3, 1, 2, 4]), [-1, nh * hd]); // [N, nh*hd]
    const mid = op.add(xin, proj(merged, p, `${L}.self_attn.o_proj`, lora, false));
    const h2 = norm(mid, p(`${L}.post_attention_layernorm.weight`), cfg.rmsNormEps);
    const gate = proj(h2, p, `${L}.mlp.gate_proj`, lora, false); // [N, I]
    const up = proj(h2, p, `${L}.mlp.up_proj`, lora, false);
    return op.add(mid, proj(glu(gate, up), p, `${L}.mlp.down_proj`, lora, false)); // [N, H]
  };
  for (let i = 0; i < cfg.numLayers; i++) {
    if (options.checkpoint && !options.fused && !inp.past) {
      const factors = [...(lora?.modules ?? new Map()).entries()]
        .filter(([path]) => path.startsWith(`model.layers.${i}.`))
        .flatMap(([, m]) => [m.a, m.b]);
      x = checkpoint(([xi]) => layer(i, xi, false), [x, ...factors]);
    } else x = layer(i, x, true);
  }
  return { hidden: norm(x, p("model.norm.weight"), cfg.rmsNormEps), present };
}

/** Logits `[M, V]` from hidden rows `[M, H]` (tied or untied head, used as stored). */
export function lmHead(hidden: Tensor, o: { cfg: LlamaShape; params: ParamFn }): Tensor {
  const p = o.params;
  const w = o.cfg.tieWordEmbeddings ? p("model.embed_tokens.weight") : p("lm_head.weight"); // [V, H]
  return op.gemm(hidden, w, { transB: true });
}

/** Declares the standard decoder inputs (ids, cos, sin, bias) with symbolic B, T, S. */
export function decoderInputs(g: Graph, o: { cfg: LlamaShape; dtype: DType; keyLen?: Dim }): DecoderInputs {
  const { cfg, dtype, keyLen = "T" } = o;
  return {
    ids: g.input("input_ids", "int64", ["B", "T"]),
    cos: g.input("rope_cos", dtype, ["B", "T", cfg.headDim]),
    sin: g.input("rope_sin", dtype, ["B", "T", cfg.headDim]),
    bias: g.input("attn_bias", dtype, ["B", "T", keyLen]),
  };
}
