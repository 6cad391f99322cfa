/**
 * The fast decoding graph: gradient-free, built from ONNX Runtime's contrib ops (domain `com.microsoft`),
 * used only for sampling. The training and log-prob graphs stay in standard ops with our own VJP rules.
 *
 * - `GroupQueryAttention` with rotary inside and the KV cache in one preallocated buffer per layer
 *   (`past.<i>.key|value` `[B, nkv, M, hd]`), fed as input and bound as the same output, so a decoding step
 *   writes one new key/value row in place. Rows are right-padded; each row's length is its `seqlens_k` entry
 *   (length − 1), which also gives its RoPE positions. onnxruntime-node still copies every fetched output,
 *   the bound cache included, back into a new JS buffer each step, so the caller keeps the cache no larger
 *   than needed (`generate_fast.ts`). `attention: "cache-input"` (`decode_attention.ts`) instead reads the
 *   cache as an input and returns only the new entries: no cache crosses the binding, at the price of ≈ 20
 *   small ops per layer in place of one kernel, and a different summation order (not bit-identical to GQA).
 * - Qwen3's per-head q/k RMSNorm runs before the attention (which applies the rotary inside).
 * - `SkipSimplifiedLayerNormalization`: residual add + RMSNorm in one kernel.
 * - With `quantization: "none"` the weights are used as given (the caller merges the LoRA adapter into them
 *   once per rollout phase, `mergeLora` in `lora_merge.ts`), and q/k/v run as one GEMM on a packed weight.
 *   With "int8"/"int4" the base weights (head included) are block-quantized `MatMulNBits` initializers and
 *   the LoRA factors are run-time inputs on a low-rank side path.
 *
 * Shapes: B rows, S new tokens per call (the padded prompt length, then 1), M cache slots.
 * @module
 */
import { Graph, op, silu, type Tensor } from "../onnx/mod.ts";
import type { LoraSpec, Weight } from "./graphs.ts";
import { type LlamaShape, loraInputs, type LoraParams } from "./llama.ts";
import { quantizationBits, quantizeWeight, type RolloutQuantization } from "./quantize.ts";
import { cacheAttention, cacheAttentionShared } from "./decode_attention.ts";

const MS = { domain: "com.microsoft" };

/** Options of {@linkcode buildFastDecodeGraph}. */
export interface FastDecodeOptions {
  /** Base weight precision (default "none": float32). */
  quantization?: RolloutQuantization;
  /** LoRA factors as run-time inputs (quantized modes); absent: the weights already hold the adapter. */
  lora?: LoraSpec;
  /** Quantization block along K (default 32). */
  block?: number;
  /**
   * "gqa" (default): `GroupQueryAttention`, the cache updated in place through bound `present` outputs;
   * "cache-input": the cache is a read-only input and only the new entries come out (`decode_attention.ts`).
   */
  attention?: DecodeAttention;
}

/** How the fast graph attends over the KV cache (see {@linkcode FastDecodeOptions.attention}). */
export type DecodeAttention = "gqa" | "cache-input";

/** Why the fast graph cannot run this model (then generation uses the standard-op graph), or null. */
export function fastDecodeUnsupported(
  cfg: LlamaShape & { qkNorm?: boolean; ropeScaling?: unknown },
): string | null {
  if (cfg.headDim % 16 !== 0) return `head_dim ${cfg.headDim} is not a multiple of 16 (GroupQueryAttention)`;
  if (cfg.ropeScaling) return "scaled RoPE (rope_scaling) is not in the contrib-op graph's cos/sin cache";
  return null;
}

/** RoPE caches `[positions, hd/2]` as GroupQueryAttention reads them (the same values as `ropeTables`). */
export function ropeCache(cfg: LlamaShape, positions: number): { cos: Float32Array; sin: Float32Array } {
  const half = cfg.headDim / 2;
  const cos = new Float32Array(positions * half), sin = new Float32Array(positions * half);
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(cfg.ropeTheta, (2 * i) / cfg.headDim);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      cos[p * half + i] = Math.cos(p * inv[i]);
      sin[p * half + i] = Math.sin(p * inv[i]);
    }
  }
  return { cos, sin };
}

/**
 * The decoding graph. Inputs: `input_ids` [B, S] int64 (right-padded), `seqlens_k` [B] int32 (each row's
 * total length − 1), `total_sequence_length` [] int32 (S for the prefill, else the longest row's total),
 * `last` [B] int64 (flat index b·S + t of each row's last real token), `past.<i>.key|value` [B, nkv, M, hd],
 * `inv_temperature` [] (1 / sampling temperature; any value when sampling greedily), and the LoRA factors
 * when `lora` is set. Outputs: `logits` [B, V], `greedy` [B] int64 (argmax, first index on ties), `probs`
 * [B, V] (softmax at the temperature), `lse` [B] (logsumexp of the logits) and `present.<i>.key|value`
 * (bind them to the past buffers). A run computes only the outputs it fetches.
 */
export function buildFastDecodeGraph(
  cfg: LlamaShape,
  weights: Map<string, Weight>,
  o: FastDecodeOptions = {},
): Graph {
  const why = fastDecodeUnsupported(cfg);
  if (why) throw new Error(`fast decode graph: ${why}`);
  const q = o.quantization ?? "none";
  const g = new Graph("decode_fast");
  const { numHeads: nh, numKvHeads: nkv, headDim: hd, hiddenSize: H, rmsNormEps: eps } = cfg;
  const ids = g.input("input_ids", "int64", ["B", "S"]);
  const seqlens = g.input("seqlens_k", "int32", ["B"]);
  const total = g.input("total_sequence_length", "int32", []);
  const last = g.input("last", "int64", ["B"]);
  const past = Array.from({ length: cfg.numLayers }, (_, i) => ({
    k: g.input(`past.${i}.key`, "float32", ["B", nkv, "M", hd]),
    v: g.input(`past.${i}.value`, "float32", ["B", nkv, "M", hd]),
  }));
  const lora = o.lora ? loraInputs(g, { cfg, spec: o.lora, dtype: "float32" }) : null;
  const rope = ropeCache(cfg, cfgMaxPositions(cfg));
  const cos = g.initializer("rope_cos_cache", rope.cos, [rope.cos.length / (hd / 2), hd / 2]);
  const sin = g.initializer("rope_sin_cache", rope.sin, [rope.sin.length / (hd / 2), hd / 2]);
  const w = (name: string) => {
    const t = weights.get(name);
    if (!t) throw new Error(`weight ${name} is missing`);
    return t;
  };
  const made = new Map<string, Tensor>();
  const init = (name: string) => {
    let t = made.get(name);
    if (!t) made.set(name, t = g.initializer(name, f32(w(name).data), w(name).shape));
    return t;
  };
  /** x [N, in] · W[out, in]ᵀ (+ bias), float32 Gemm or MatMulNBits. */
  const base = (x: Tensor, name: string, data?: { shape: number[]; data: Float32Array }): Tensor => {
    const src = data ?? { shape: w(name).shape, data: f32(w(name).data) };
    const [n, k] = src.shape;
    if (q === "none") {
      const t = data ? g.initializer(name, src.data, src.shape) : init(name);
      return op.gemm(x, t, { transB: true });
    }
    const qw = quantizeWeight(src.data, { n, k }, { bits: quantizationBits(q), block: o.block });
    const blocks = Math.ceil(k / qw.block);
    const bq = g.initializer(`${name}.q${qw.bits}`, qw.data, [n, blocks, (qw.block * qw.bits) / 8]);
    const sc = g.initializer(`${name}.scales`, qw.scales, [n * blocks]);
    return g.node("MatMulNBits", [x, bq, sc], [{ dtype: "float32", shape: [x.shape[0], n] }], {
      K: k,
      N: n,
      bits: qw.bits,
      block_size: qw.block,
      accuracy_level: 4,
    }, MS)[0];
  };
  const proj = (x: Tensor, path: string, bias: boolean): Tensor => {
    let y = base(x, `${path}.weight`);
    if (bias) y = op.add(y, init(`${path}.bias`));
    return withLora(y, x, path, lora);
  };
  const toBSD = (y: Tensor, d: number): Tensor =>
    g.node("Reshape", [y, op.concat([op.shapeOf(ids), g.ints([d])], 0)], [{
      dtype: "float32",
      shape: ["B", "S", d],
    }])[0];
  const skipNorm = (x: Tensor, skip: Tensor, gamma: string): { h: Tensor; sum: Tensor } => {
    const [h, , , sum] = g.node(
      "SkipSimplifiedLayerNormalization",
      [x, skip, init(gamma)],
      [
        { dtype: "float32", shape: [...x.shape] },
        { dtype: "float32", shape: [], name: "" },
        { dtype: "float32", shape: [], name: "" },
        { dtype: "float32", shape: [...x.shape] },
      ],
      { epsilon: { float: eps } },
      MS,
    );
    return { h, sum };
  };
  /** Qwen3: RMSNorm of each head of `y` [N, heads·hd] over hd (before the rotary inside GQA). */
  const headNorm = (y: Tensor, gamma: string, heads: number): Tensor => {
    const y3 = op.reshape(y, [-1, heads, hd]);
    const n = g.node("SimplifiedLayerNormalization", [y3, init(gamma)], [{
      dtype: "float32",
      shape: [...y3.shape],
    }], { axis: -1, epsilon: { float: eps } })[0];
    return op.reshape(n, [-1, heads * hd]);
  };
  /** o_proj, the residual + post-attention norm, the MLP: the new residual stream and the MLP output. */
  const mlp = (att: Tensor, resid: Tensor, L: string): { x: Tensor; down: Tensor } => {
    const o2 = proj(att, `${L}.self_attn.o_proj`, false);
    const n2 = skipNorm(resid, o2, `${L}.post_attention_layernorm.weight`);
    const gate = proj(n2.h, `${L}.mlp.gate_proj`, false);
    const up = proj(n2.h, `${L}.mlp.up_proj`, false);
    return { x: n2.sum, down: proj(op.mul(silu(gate), up), `${L}.mlp.down_proj`, false) };
  };
  const cacheIn = (o.attention ?? "gqa") === "cache-input";
  const shared = cacheIn
    ? cacheAttentionShared(g, { ids, seqlens, past: past[0].k, cos, sin, group: nh / nkv })
    : null;
  let x = op.reshape(op.gather(init("model.embed_tokens.weight"), ids), [-1, H]); // [N, H]
  let h = g.node("SimplifiedLayerNormalization", [x, init("model.layers.0.input_layernorm.weight")], [{
    dtype: "float32",
    shape: [...x.shape],
  }], { axis: -1, epsilon: { float: eps } })[0];
  const present: { k: Tensor; v: Tensor }[] = [];
  let down: Tensor | null = null;
  for (let i = 0; i < cfg.numLayers; i++) {
    const L = `model.layers.${i}`;
    if (down) ({ h, sum: x } = skipNorm(x, down, `${L}.input_layernorm.weight`));
    const attnIn: Tensor[] = [];
    const fused = !lora;
    /** q, k, v [N, ·] for the cache-input attention */
    let qkv: Tensor[] = [];
    if (fused) {
      const names = ["q_proj", "k_proj", "v_proj"].map((t) => `${L}.self_attn.${t}`);
      const parts = names.map((n) => w(`${n}.weight`));
      const rows = parts.reduce((a, p) => a + p.shape[0], 0);
      const data = new Float32Array(rows * H);
      let off = 0;
      for (const p of parts) data.set(p.data, off), off += p.data.length;
      let y = base(h, `${L}.self_attn.qkv_proj.weight`, { shape: [rows, H], data });
      if (cfg.qkvBias) {
        const bias = new Float32Array(rows);
        let bo = 0;
        for (const n of names) bias.set(w(`${n}.bias`).data, bo), bo += w(`${n}.bias`).data.length;
        y = op.add(y, g.initializer(`${L}.self_attn.qkv_proj.bias`, bias, [rows]));
      }
      if (cfg.qkNorm || cacheIn) {
        const [q, k, v] = op.split(y, [nh * hd, nkv * hd, nkv * hd], 1);
        qkv = cfg.qkNorm
          ? [
            headNorm(q, `${L}.self_attn.q_norm.weight`, nh),
            headNorm(k, `${L}.self_attn.k_norm.weight`, nkv),
            v,
          ]
          : [q, k, v];
        attnIn.push(...qkv.map((t, j) => toBSD(t, (j ? nkv : nh) * hd)));
      } else attnIn.push(toBSD(y, rows), g.absent(), g.absent());
    } else {
      for (const [t, n] of [["q_proj", nh], ["k_proj", nkv], ["v_proj", nkv]] as const) {
        let y = proj(h, `${L}.self_attn.${t}`, cfg.qkvBias);
        if (cfg.qkNorm && t !== "v_proj") y = headNorm(y, `${L}.self_attn.${t[0]}_norm.weight`, n);
        qkv.push(y);
        attnIn.push(toBSD(y, n * hd));
      }
    }
    if (cacheIn) {
      const a = cacheAttention({ q: qkv[0], k: qkv[1], v: qkv[2], past: past[i] }, {
        shared: shared!,
        numHeads: nh,
        numKvHeads: nkv,
        headDim: hd,
      });
      g.output(a.k, `kv_new.${i}.key`);
      g.output(a.v, `kv_new.${i}.value`);
      ({ x, down } = mlp(a.out, x, L));
      continue;
    }
    const [att, pk, pv] = g.node(
      "GroupQueryAttention",
      [...attnIn, past[i].k, past[i].v, seqlens, total, cos, sin],
      [
        { dtype: "float32", shape: ["B", "S", nh * hd] },
        { dtype: "float32", shape: ["B", nkv, "M", hd] },
        { dtype: "float32", shape: ["B", nkv, "M", hd] },
      ],
      { num_heads: nh, kv_num_heads: nkv, do_rotary: 1, rotary_interleaved: 0 },
      MS,
    );
    present.push({ k: pk, v: pv });
    ({ x, down } = mlp(op.reshape(att, [-1, nh * hd]), x, L));
  }
  const { h: final } = skipNorm(x, down!, "model.norm.weight");
  const rowsAt = op.gather(final, last); // [B, H]
  const head = cfg.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  const logits = q === "none"
    ? op.gemm(rowsAt, init(head), { transB: true })
    : base(rowsAt, head, { shape: w(head).shape, data: f32(w(head).data) });
  g.output(logits, "logits");
  // sampling helpers, so the host never loops over the vocabulary with exp(): the greedy token, the
  // distribution at the run's temperature, and the logsumexp of the unscaled logits (log-probs)
  const invTemp = g.input("inv_temperature", "float32", []);
  g.output(op.argMax(logits, -1), "greedy");
  g.output(
    g.node("Softmax", [op.mul(logits, invTemp)], [{ dtype: "float32", shape: [...logits.shape] }], {
      axis: -1,
    })[0],
    "probs",
  );
  g.output(
    g.node("ReduceLogSumExp", [logits, g.ints([-1])], [{ dtype: "float32", shape: [logits.shape[0]] }], {
      keepdims: 0,
    })[0],
    "lse",
  );
  present.forEach((kv, i) => {
    g.output(kv.k, `present.${i}.key`);
    g.output(kv.v, `present.${i}.value`);
  });
  return g;
}

const f32 = (d: Float32Array | Float64Array) => (d instanceof Float32Array ? d : Float32Array.from(d));

function withLora(y: Tensor, x: Tensor, path: string, lora: LoraParams | null): Tensor {
  const l = lora?.modules.get(path);
  if (!l) return y;
  const low = op.gemm(op.gemm(x, l.a, { transB: true }), l.b, { transB: true });
  return op.add(y, op.mul(low, lora!.scale));
}

function cfgMaxPositions(cfg: LlamaShape & { maxPositions?: number }): number {
  return cfg.maxPositions ?? 4096;
}
