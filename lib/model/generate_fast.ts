/**
 * Sampling with the contrib-op decode graph (`decode_graph.ts`): prompts right-padded into one prefill call,
 * then one call per new token, the KV cache living in preallocated buffers that every call updates in place.
 * The adapter's factors are fed to one session built once (a low-rank side path per projection), or, with
 * `mergeLora` (float32 only), merged into the weights once per adapter state (a new session when the adapter
 * changed since the last call, the old one released).
 * @module
 */
import * as ort from "onnxruntime-node";
import type { Graph, Session } from "../onnx/mod.ts";
import type { LoraSpec, Weight } from "./graphs.ts";
import type { LlamaShape } from "./llama.ts";
import type { LoraAdapter } from "./lora.ts";
import { buildFastDecodeGraph, type DecodeAttention } from "./decode_graph.ts";
import { mergeLora } from "./lora_merge.ts";
import type { RolloutQuantization } from "./quantize.ts";
import { sampleToken, type SamplingOptions } from "./sampling.ts";
import type { Rng } from "../util/mod.ts";

/** What the fast path needs from a loaded model (a `CausalLM`). */
export interface FastDecodeHost {
  readonly config: LlamaShape & { padTokenId?: number; eosTokenIds: number[]; maxPositions: number };
  readonly weights: Map<string, Weight>;
  readonly tokenizer: { padTokenId: number; eosTokenIds: number[] } | null;
  session(key: string, build: () => Graph): Promise<Session>;
  dropSession(key: string): Promise<void>;
}

/** Options of {@linkcode generateFast}; `GenerateOptions` adds the choice of graph. */
export interface FastGenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  rng: Rng;
  /** Policy adapter (absent: the base model). */
  lora?: LoraAdapter | null;
  /** Called after each decoding step with the number of steps done. */
  onStep?: (step: number) => void;
  /** Also return each new token's log-prob (default false). */
  returnLogprobs?: boolean;
  /** Stop a row at an end-of-sequence token (default true; benchmarks turn it off). */
  stopAtEos?: boolean;
  /** Base weight precision of the decode graph (default "none"). */
  quantization?: RolloutQuantization;
  /**
   * Float32 only: merge the adapter into the weights (one GEMM per projection; a new session whenever the
   * adapter changed) instead of running its factors on a low-rank side path in one session built once.
   * Default false: on the SmolLM2-135M shape a session build costs more than the side path saves.
   */
  mergeLora?: boolean;
  /**
   * Drop finished rows from the batch as it goes (fewer rows to run and less cache to copy per step); the
   * results can differ from a fixed batch's in the last bits of the log-probs (default false).
   */
  compact?: boolean;
  /** The fast graph's attention over the cache (default "gqa"; see `FastDecodeOptions.attention`). */
  attention?: DecodeAttention;
}

const merged = new WeakMap<FastDecodeHost, string>();

/** A cheap content fingerprint of an adapter (FNV-1a over the float bits), to spot a changed adapter. */
export function adapterFingerprint(lora: LoraAdapter): string {
  let h = 0x811c9dc5;
  for (const t of lora.tensors.values()) {
    const u = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
    for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i], 0x01000193) >>> 0;
  }
  return `${specKey(lora.spec)}:${h.toString(16)}`;
}

async function decodeSession(model: FastDecodeHost, o: FastGenerateOptions): Promise<Session> {
  const q = o.quantization ?? "none", attention = o.attention ?? "gqa";
  if (q !== "none" || (o.lora && !o.mergeLora)) {
    const spec = o.lora?.spec;
    return await model.session(
      `decode_fast|${q}|${attention}|${specKey(spec)}`,
      () => buildFastDecodeGraph(model.config, model.weights, { quantization: q, lora: spec, attention }),
    );
  }
  const key = `decode_fast|none|${attention}|${o.lora ? adapterFingerprint(o.lora) : "base"}`;
  const prev = merged.get(model);
  if (prev && prev !== key) await model.dropSession(prev);
  merged.set(model, key);
  return await model.session(key, () => {
    const w = o.lora ? mergeLora(model.weights, o.lora) : model.weights;
    return buildFastDecodeGraph(model.config, w, { attention });
  });
}

/**
 * Samples continuations of `prompts` with the fast graph; same results layout as `CausalLM.generate`.
 *
 * onnxruntime-node copies every fetched output back into a new JS buffer, the bound KV cache included, so a
 * step costs a copy of the whole cache. The cache therefore holds only what is needed: it starts at the
 * prompt length plus {@linkcode KV_CHUNK} slots and grows by that much when full (bit-identical results:
 * only the buffer's stride changes). With `compact`, rows that have finished are dropped from the batch (the
 * cache rebuilt without them) once an eighth of it has finished: the same random draws, but the GEMMs' row
 * count changes, which moves log-probs in the last bits, so exact reproducibility keeps it off by default.
 */
export async function generateFast(
  model: FastDecodeHost,
  prompts: number[][],
  o: FastGenerateOptions,
): Promise<{ tokens: number[][]; finished: boolean[]; logprobs?: number[][] }> {
  const cfg = model.config, V = cfg.vocabSize;
  const s = await decodeSession(model, o);
  const B = prompts.length, P0 = Math.max(...prompts.map((p) => p.length));
  const slots = P0 + o.maxNewTokens;
  if (slots > cfg.maxPositions) {
    throw new Error(`generate: ${P0} + ${o.maxNewTokens} tokens exceed max_position_embeddings`);
  }
  const pad = model.tokenizer?.padTokenId ?? cfg.padTokenId ?? 0;
  const eos = new Set(model.tokenizer?.eosTokenIds ?? cfg.eosTokenIds);
  const lora: Record<string, ort.Tensor> = {};
  if (o.lora && ((o.quantization ?? "none") !== "none" || !o.mergeLora)) {
    for (const [name, t] of o.lora.tensors) lora[name] = new ort.Tensor("float32", t.data, t.shape);
  }
  const kv = new KvCache(cfg, { rows: B, slots: Math.min(slots, P0 + KV_CHUNK) });
  const temp = o.temperature ?? 1, topK = o.topK ?? 0, topP = o.topP ?? 1;
  // in-graph sampling helpers unless top-k / top-p need the raw logits
  const mode = temp <= 0 ? "greedy" : (topK > 0 && topK < V) || topP < 1 ? "logits" : "probs";
  const head: Record<string, ort.Tensor | null> = { [mode]: null };
  if (o.returnLogprobs) Object.assign(head, { logits: null, lse: null });
  const ids = new BigInt64Array(B * P0).fill(BigInt(pad));
  prompts.forEach((p, r) => p.forEach((t, i) => (ids[r * P0 + i] = BigInt(t))));
  let feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor("int64", ids, [B, P0]),
    seqlens_k: new ort.Tensor("int32", Int32Array.from(prompts, (p) => p.length - 1), [B]),
    total_sequence_length: new ort.Tensor("int32", Int32Array.of(P0), []),
    last: new ort.Tensor("int64", BigInt64Array.from(prompts, (p, r) => BigInt(r * P0 + p.length - 1)), [B]),
  };
  const invTemp = new ort.Tensor("float32", Float32Array.of(temp > 0 ? 1 / temp : 1), []);
  const tokens: number[][] = prompts.map(() => []), finished = prompts.map(() => false);
  const lps: number[][] = prompts.map(() => []);
  let live = prompts.map((_, r) => r); // the prompt of each batch row
  for (let step = 0; step < o.maxNewTokens; step++) {
    const cacheIn = (o.attention ?? "gqa") === "cache-input";
    const out = await s.run({ ...feeds, ...kv.feeds, ...lora, inv_temperature: invTemp }, {
      ...head,
      ...(cacheIn ? kv.newEntries : kv.fetches),
    });
    if (cacheIn) kv.write(out, feeds.seqlens_k.data as Int32Array);
    const n = live.length;
    for (let j = 0; j < n; j++) {
      const r = live[j];
      if (finished[r]) continue;
      const t = mode === "greedy"
        ? Number((out.greedy.data as BigInt64Array)[j])
        : mode === "probs"
        ? sampleFromProbs(out.probs.data as Float32Array, { off: j * V, n: V, u: o.rng.float() })
        : sampleToken(out.logits.data as Float32Array, { ...o, offset: j * V, size: V });
      tokens[r].push(t);
      if (o.returnLogprobs) {
        lps[r].push((out.logits.data as Float32Array)[j * V + t] - (out.lse.data as Float32Array)[j]);
      }
      if (eos.has(t) && o.stopAtEos !== false) finished[r] = true;
    }
    o.onStep?.(step + 1);
    if (finished.every(Boolean)) break;
    const done = live.filter((r) => finished[r]).length;
    const keep = o.compact && done > 0 && done >= n / 8 ? live.filter((r) => !finished[r]) : live;
    // the new token of prompt r sits at index p.length + step; every row of the batch needs that slot
    const index = (r: number) => prompts[r].length + step;
    const need = Math.max(...keep.map(index)) + 1;
    if (keep !== live || need > kv.slots) {
      kv.rebuild(
        keep.map((r) => live.indexOf(r)),
        need > kv.slots ? Math.min(slots, kv.slots + KV_CHUNK) : kv.slots,
      );
      live = keep;
    }
    const lens = Int32Array.from(live, index); // seqlens_k: the new token's index = total − 1
    feeds = {
      input_ids: new ort.Tensor(
        "int64",
        BigInt64Array.from(live, (r) => BigInt(finished[r] ? pad : tokens[r][tokens[r].length - 1])),
        [live.length, 1],
      ),
      seqlens_k: new ort.Tensor("int32", lens, [live.length]),
      total_sequence_length: new ort.Tensor("int32", Int32Array.of(Math.max(...lens) + 1), []),
      last: new ort.Tensor("int64", BigInt64Array.from(live, (_, j) => BigInt(j)), [live.length]),
    };
  }
  return o.returnLogprobs ? { tokens, finished, logprobs: lps } : { tokens, finished };
}

/** Cache slots added at a time (see {@linkcode generateFast}). */
export const KV_CHUNK = 32;

/**
 * The per-layer KV buffers `[rows, nkv, slots, hd]`, fed as `past.<i>.key|value` and bound as the
 * `present.<i>.key|value` outputs (GroupQueryAttention writes the new entries in place).
 */
export class KvCache {
  feeds: Record<string, ort.Tensor> = {};
  fetches: Record<string, ort.Tensor> = {};
  rows: number;
  slots: number;
  readonly #shape: { layers: number; nkv: number; hd: number };

  /** Zeroed buffers for `size.rows` rows of `size.slots` slots. */
  constructor(cfg: LlamaShape, size: { rows: number; slots: number }) {
    this.#shape = { layers: cfg.numLayers, nkv: cfg.numKvHeads, hd: cfg.headDim };
    this.rows = size.rows;
    this.slots = size.slots;
    this.#bind(() => new Float32Array(this.rows * this.#shape.nkv * this.slots * this.#shape.hd));
  }

  /** Keeps the rows `keep` (indices into the current rows, in order) and resizes to `slots` slots. */
  rebuild(keep: number[], slots: number): void {
    const { nkv, hd } = this.#shape, old = this.feeds, oldSlots = this.slots;
    const copy = Math.min(slots, oldSlots) * hd;
    this.rows = keep.length;
    this.slots = slots;
    this.#bind((name) => {
      const src = old[name].data as Float32Array;
      const dst = new Float32Array(keep.length * nkv * slots * hd);
      keep.forEach((from, j) => {
        for (let h = 0; h < nkv; h++) {
          const a = (from * nkv + h) * oldSlots * hd;
          dst.set(src.subarray(a, a + copy), (j * nkv + h) * slots * hd);
        }
      });
      return dst;
    });
  }

  /** The cache-input graph's outputs of new entries (`kv_new.<i>.key|value`), allocated by ORT. */
  get newEntries(): Record<string, null> {
    const out: Record<string, null> = {};
    for (let i = 0; i < this.#shape.layers; i++) out[`kv_new.${i}.key`] = out[`kv_new.${i}.value`] = null;
    return out;
  }

  /**
   * Writes the new entries `kv_new.<i>.key|value` [rows, nkv, S, hd] of a run: row j's token t goes to slot
   * `max(seqlens[j] + 1 − S, 0) + t` (the positions the graph gave it).
   */
  write(out: Record<string, ort.Tensor>, seqlens: Int32Array): void {
    const { layers, nkv, hd } = this.#shape, M = this.slots;
    for (let i = 0; i < layers; i++) {
      for (const kv of ["key", "value"]) {
        const src = out[`kv_new.${i}.${kv}`], d = this.feeds[`past.${i}.${kv}`].data as Float32Array;
        const S = src.dims[2], data = src.data as Float32Array;
        for (let j = 0; j < this.rows; j++) {
          const base = Math.max(seqlens[j] + 1 - S, 0), n = Math.min(S, M - base);
          for (let h = 0; h < nkv; h++) {
            const r = j * nkv + h;
            d.set(data.subarray(r * S * hd, (r * S + n) * hd), (r * M + base) * hd);
          }
        }
      }
    }
  }

  #bind(make: (name: string) => Float32Array): void {
    const { layers, nkv, hd } = this.#shape;
    const feeds: Record<string, ort.Tensor> = {}, fetches: Record<string, ort.Tensor> = {};
    for (let i = 0; i < layers; i++) {
      for (const kv of ["key", "value"]) {
        const t = new ort.Tensor("float32", make(`past.${i}.${kv}`), [this.rows, nkv, this.slots, hd]);
        feeds[`past.${i}.${kv}`] = t;
        fetches[`present.${i}.${kv}`] = t;
      }
    }
    this.feeds = feeds;
    this.fetches = fetches;
  }
}

/** Inverse-CDF draw from probabilities `p[off, off + n)` with a uniform `u` in [0, 1). */
export function sampleFromProbs(
  p: Float32Array,
  { off, n, u }: { off: number; n: number; u: number },
): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += p[off + i];
  let x = u * sum;
  for (let i = 0; i < n; i++) {
    x -= p[off + i];
    if (x < 0) return i;
  }
  let last = n - 1; // rounding: the last token with mass
  while (last > 0 && p[off + last] === 0) last--;
  return last;
}

function specKey(spec?: LoraSpec): string {
  return spec ? `${spec.r}:${spec.alpha}:${spec.targets.join(",")}` : "base";
}
