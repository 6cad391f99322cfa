/**
 * A loaded causal LM (config, weights, tokenizer) with cached ONNX sessions for log-probs, KV-cache
 * generation, the GRPO training step and the full-weight LM training step.
 * @module
 */
import * as ort from "onnxruntime-node";
import { checkWeightsFit, loadModelConfig, type ModelConfig } from "./config.ts";
import { loadModelWeights } from "./safetensors.ts";
import { loadTokenizer, type Tokenizer } from "./tokenizer.ts";
import { resolveModelDir } from "./hub.ts";
import {
  buildDecodeGraph,
  buildGrpoGraph,
  buildLmTrainGraph,
  buildLogprobGraph,
  type GrpoGraphOptions,
  type LoraSpec,
  type Weight,
} from "./graphs.ts";
import { attentionBias, positionsFromMask, ropeTables, sequenceMeanInputs } from "./inputs.ts";
import type { LoraAdapter } from "./lora.ts";
import { logSoftmaxAt, sampleToken, type SamplingOptions } from "./sampling.ts";
import { createSession, type Device, type Graph, type Session } from "../onnx/mod.ts";
import { notice, type Rng } from "../util/mod.ts";
import { fastDecodeUnsupported } from "./decode_graph.ts";
import { generateFast } from "./generate_fast.ts";
import type { RolloutQuantization } from "./quantize.ts";

const fallbackNoticeShown = new Set<string>();

/** A batch of token rows, right- or left-padded, flat row-major. */
export interface TokenBatch {
  /** [B·T] token ids */
  ids: ArrayLike<number>;
  /** [B·T] 1 on real tokens */
  mask: ArrayLike<number>;
  batch: number;
  length: number;
}

/** Options of {@linkcode CausalLM.load}. */
export interface ModelLoadOptions {
  /** "auto" (default), "cuda" or "cpu". */
  device?: Device;
  /** ORT intra-op threads (default: all cores). */
  threads?: number;
  /** Load the tokenizer too (default true). */
  tokenizer?: boolean;
  /** Write ONNX Runtime profiles (JSON) with this file prefix, one per session (see `bench/profile.ts`). */
  profilePrefix?: string;
  /**
   * ORT weight pre-packing (see `SessionOptions.prepack`). Default: on, except in training sessions of models
   * with 2 GB of weights or more, whose forward, backward and reference Gemms would each keep a packed copy
   * of every weight (on the bench workload pre-packing is ≈ 18 % faster for ≈ +20 MB per layer).
   */
  prepack?: boolean;
  /** ORT's CPU memory arena (default true; see `SessionOptions.memArena`). */
  memArena?: boolean;
  /**
   * ORT's memory pattern (see `SessionOptions.memPattern`). Default: on for inference sessions; off for the
   * training sessions, where the planned block came on top of the arena (+2.8 GB on the bench workload).
   */
  memPattern?: boolean;
  /**
   * Full per-layer activation checkpointing in training graphs (TRL's `gradient_checkpointing`): keep each
   * decoder layer's input and recompute its forward inside the backward (default false: selective
   * recomputation only).
   */
  gradientCheckpointing?: boolean;
}

/** What {@linkcode CausalLM.generate} returns. */
export interface GenerateResult {
  /** New tokens per row, up to and including the first EOS. */
  tokens: number[][];
  /** Whether each row ended with EOS (else it hit `maxNewTokens`). */
  finished: boolean[];
  /** With `returnLogprobs`: log p(token) under the unscaled model distribution, per new token. */
  logprobs?: number[][];
}

/** Options of {@linkcode CausalLM.generate}. */
export interface GenerateOptions extends SamplingOptions {
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
  /**
   * "fast" (default): the contrib-op decode graph (`decode_graph.ts`); "standard": the standard-op graph the
   * training graphs share. Models the fast graph cannot run use "standard" (one notice).
   */
  graph?: "fast" | "standard";
  /** Base weight precision of the fast graph (default "none"; see `quantize.ts`). */
  quantization?: RolloutQuantization;
  /** Fast graph, float32: merge the adapter into the weights, one session per adapter state (default false). */
  mergeLora?: boolean;
  /** Fast graph: drop finished rows as it goes (last-bit differences from a fixed batch; default false). */
  compact?: boolean;
  /** Fast graph: "gqa" (default, cache updated in place) or "cache-input" (`decode_attention.ts`). */
  attention?: "gqa" | "cache-input";
}

/** Weights from which training sessions skip pre-packing by default. */
const PREPACK_LIMIT = 2 * 2 ** 30;

const f = (data: Float32Array, dims: number[]) => new ort.Tensor("float32", data, dims);
const i64 = (data: ArrayLike<number>, dims: number[]) =>
  new ort.Tensor("int64", BigInt64Array.from(Array.from(data), (v) => BigInt(v)), dims);

/** A causal LM ready to run. */
export class CausalLM {
  readonly dir: string;
  readonly config: ModelConfig;
  readonly weights: Map<string, Weight>;
  readonly tokenizer: Tokenizer | null;
  readonly options: ModelLoadOptions;
  #sessions = new Map<string, Promise<Session>>();

  /** Use {@linkcode CausalLM.load} or {@linkcode CausalLM.fromParts}. */
  constructor(
    dir: string,
    config: ModelConfig,
    weights: Map<string, Weight>,
    tokenizer: Tokenizer | null,
    options: ModelLoadOptions,
  ) {
    this.dir = dir;
    this.config = config;
    this.weights = weights;
    this.tokenizer = tokenizer;
    this.options = options;
  }

  /** Loads a local folder or a Hugging Face hub id (downloaded into a cache). */
  static async load(idOrDir: string, options: ModelLoadOptions = {}): Promise<CausalLM> {
    const dir = await resolveModelDir(idOrDir);
    const config = await loadModelConfig(dir);
    const weights = await loadModelWeights(dir);
    const { unexpected } = checkWeightsFit(config, weights, { source: dir });
    if (unexpected.length) {
      notice(`model ${dir}: ignoring ${unexpected.length} unused tensor(s), e.g. ${unexpected[0]}`);
    }
    const tokenizer = options.tokenizer === false ? null : await loadTokenizer(dir);
    return new CausalLM(dir, config, weights as unknown as Map<string, Weight>, tokenizer, options);
  }

  /** The tokenizer, or an error when the model was loaded without one. */
  get tok(): Tokenizer {
    if (!this.tokenizer) throw new Error(`model ${this.dir} was loaded without a tokenizer`);
    return this.tokenizer;
  }

  /**
   * A cached session for `key`, built by `build` on first use. Training graphs (`training: true`) default to
   * no memory pattern, and to no weight pre-packing above 2 GB of weights (see `LoadOptions`); explicit load
   * options win.
   */
  session(key: string, build: () => Graph, options: { training?: boolean } = {}): Promise<Session> {
    let s = this.#sessions.get(key);
    if (!s) {
      const prefix = this.options.profilePrefix;
      const train = options.training ?? false;
      s = createSession(build(), {
        device: this.options.device,
        threads: this.options.threads,
        profilePrefix: prefix ? `${prefix}_${key.split("|")[0]}` : undefined,
        prepack: this.options.prepack ?? !(train && this.weightBytes() >= PREPACK_LIMIT),
        memArena: this.options.memArena,
        memPattern: this.options.memPattern ?? !train,
      });
      this.#sessions.set(key, s);
    }
    return s;
  }

  /** Releases the session cached under `key` (when there is one). */
  async dropSession(key: string): Promise<void> {
    const s = this.#sessions.get(key);
    if (!s) return;
    this.#sessions.delete(key);
    await (await s).release();
  }

  /** Ends profiling on every session; returns the profile files written. */
  async endProfiling(): Promise<string[]> {
    const files: string[] = [];
    for (const s of this.#sessions.values()) files.push((await s).endProfiling());
    return files.filter(Boolean);
  }

  /** Bytes of the base weights as loaded. */
  weightBytes(): number {
    let n = 0;
    for (const w of this.weights.values()) n += w.data.byteLength;
    return n;
  }

  /** Frees every session. */
  async release(): Promise<void> {
    for (const s of this.#sessions.values()) await (await s).release();
    this.#sessions.clear();
  }

  /** Decoder feeds for full sequences: ids, RoPE tables, causal + padding bias. */
  sequenceFeeds(b: TokenBatch): Record<string, ort.Tensor> {
    const { batch: B, length: T } = b;
    const hd = this.config.headDim;
    const pos = positionsFromMask(b.mask, B, T);
    const { cos, sin } = ropeTables(pos, {
      headDim: hd,
      theta: this.config.ropeTheta,
      scaling: this.config.ropeScaling,
    });
    return {
      input_ids: i64(b.ids, [B, T]),
      rope_cos: f(cos as Float32Array, [B, T, hd]),
      rope_sin: f(sin as Float32Array, [B, T, hd]),
      attn_bias: f(attentionBias(b.mask, { batch: B, queries: T, keys: T }) as Float32Array, [B, T, T]),
    };
  }

  /** Scored positions (flat b·T + t whose next token counts) and their targets, as feeds. */
  positionFeeds(b: TokenBatch, positions: number[]): Record<string, ort.Tensor> {
    return {
      positions: i64(positions, [positions.length]),
      target_ids: i64(positions.map((i) => b.ids[i + 1]), [positions.length]),
    };
  }

  /** The adapter's factors as feeds. */
  loraFeeds(lora: LoraAdapter): Record<string, ort.Tensor> {
    const out: Record<string, ort.Tensor> = {};
    for (const [name, t] of lora.tensors) out[name] = f(t.data, t.shape);
    return out;
  }

  /**
   * Next-token log-probs and entropies `[B·T]` (position t: token t+1; 0 where token t+1 is padding or past
   * the end), with or without an adapter.
   */
  async logprobs(
    b: TokenBatch,
    lora?: LoraAdapter | null,
  ): Promise<{ logprobs: Float32Array; entropy: Float32Array }> {
    const spec = lora?.spec;
    const positions = nextTokenPositions(b, (i) => !!b.mask[i]);
    const logprobs = new Float32Array(b.batch * b.length), entropy = new Float32Array(b.batch * b.length);
    if (!positions.length) return { logprobs, entropy };
    const s = await this.session(
      `logprobs|${specKey(spec)}`,
      () => buildLogprobGraph(this.config, this.weights, { lora: spec }),
    );
    const out = await s.run({
      ...this.sequenceFeeds(b),
      ...this.positionFeeds(b, positions),
      ...(lora ? this.loraFeeds(lora) : {}),
    });
    scatter(out.logprobs.data as Float32Array, positions, logprobs);
    scatter(out.entropy.data as Float32Array, positions, entropy);
    return { logprobs, entropy };
  }

  /**
   * One GRPO forward+backward. `tokenWeights`, `old` and `ref` are `[B·T]` in next-token alignment;
   * `advantages` one per sequence. Without `ref` (and β > 0) the reference log-probs are computed inside the
   * same graph and returned as `ref`. Returns the loss, the policy's log-probs `[B·T]` and the LoRA gradients.
   */
  async grpoStep(
    b: TokenBatch,
    inputs: {
      lora: LoraAdapter;
      tokenWeights: ArrayLike<number>;
      advantages: ArrayLike<number>;
      old?: ArrayLike<number>;
      ref?: ArrayLike<number>;
      beta: number;
      epsilon: number;
      epsilonHigh: number;
      /** The policy objective (default: the clipped surrogate, token-level ratios). */
      objective?: GrpoGraphOptions["objective"];
      /** [B·T] per-token multiplier of the policy term (next-token aligned), e.g. the top-entropy mask. */
      policyMask?: ArrayLike<number>;
      /** Entropy bonus coefficient (needs `entropyWeights`). */
      entropyCoef?: number;
      /** [B·T] weights of each token's entropy in the bonus (next-token aligned). */
      entropyWeights?: ArrayLike<number>;
    },
  ): Promise<
    { loss: number; logprobs: Float32Array; ref?: Float32Array; grads: Map<string, { data: Float32Array }> }
  > {
    const { lora, beta, epsilon, epsilonHigh } = inputs;
    const useOld = !!inputs.old, computeRef = !!beta && !inputs.ref;
    const B = b.batch, T = b.length;
    const positions = nextTokenPositions(b, (i) => inputs.tokenWeights[i] > 0);
    const logprobs = new Float32Array(B * T);
    const grads = new Map<string, { data: Float32Array }>();
    if (!positions.length) {
      for (const [name, t] of lora.tensors) grads.set(name, { data: new Float32Array(t.data.length) });
      return { loss: 0, logprobs, grads };
    }
    const ckpt = !!this.options.gradientCheckpointing;
    const objective = inputs.objective ?? {};
    const policyMask = !!inputs.policyMask, entropyCoef = inputs.entropyCoef ?? 0;
    const key = `grpo|${specKey(lora.spec)}|${beta}|${epsilon}|${epsilonHigh}|${useOld}|${computeRef}|${
      JSON.stringify(objective)
    }|${policyMask}|${entropyCoef}|${ckpt}`;
    const s = await this.session(
      key,
      () =>
        buildGrpoGraph(this.config, this.weights, {
          lora: lora.spec,
          beta,
          epsilon,
          epsilonHigh,
          useOld,
          computeRef,
          gradientCheckpointing: ckpt,
          objective,
          policyMask,
          entropyCoef,
        }),
      { training: true },
    );
    const M = positions.length;
    const at = (x: ArrayLike<number>) => f(Float32Array.from(positions, (i) => x[i]), [M]);
    const feeds: Record<string, ort.Tensor> = {
      ...this.sequenceFeeds(b),
      ...this.positionFeeds(b, positions),
      ...this.loraFeeds(lora),
      token_weights: at(inputs.tokenWeights),
      advantages: f(Float32Array.from(positions, (i) => inputs.advantages[Math.floor(i / T)]), [M]),
    };
    if (useOld) feeds.old_logprobs = at(inputs.old!);
    if (objective.sequenceLevel) {
      const q = sequenceMeanInputs(positions, T);
      feeds.seq_mean = f(q.seqMean, [q.sequences, M]);
      feeds.seq_index = i64(q.seqIndex, [M]);
    }
    if (policyMask) feeds.policy_mask = at(inputs.policyMask!);
    if (entropyCoef) feeds.entropy_weights = at(inputs.entropyWeights!);
    if (beta && !computeRef) feeds.ref_logprobs = at(inputs.ref!);
    const out = await s.run(feeds);
    for (const name of lora.tensors.keys()) {
      grads.set(name, { data: out[`grad.${name}`].data as Float32Array });
    }
    scatter(out.logprobs.data as Float32Array, positions, logprobs);
    let ref: Float32Array | undefined;
    if (computeRef) {
      scatter(out.ref_logprobs_out.data as Float32Array, positions, ref = new Float32Array(B * T));
    }
    return { loss: (out.loss.data as Float32Array)[0], logprobs, ref, grads };
  }

  /** One full-weight next-token cross-entropy step: loss = −Σ w·log p; gradients of every weight. */
  async lmStep(
    b: TokenBatch,
    tokenWeights: ArrayLike<number>,
  ): Promise<{ loss: number; grads: Map<string, { data: Float32Array }> }> {
    const s = await this.session("lm_train", () => buildLmTrainGraph(this.config), { training: true });
    const positions = nextTokenPositions(b, (i) => tokenWeights[i] > 0);
    const feeds: Record<string, ort.Tensor> = {
      ...this.sequenceFeeds(b),
      ...this.positionFeeds(b, positions),
      token_weights: f(Float32Array.from(positions, (i) => tokenWeights[i]), [positions.length]),
    };
    for (const [name, w] of this.weights) feeds[name] = f(w.data as Float32Array, w.shape);
    const out = await s.run(feeds);
    const grads = new Map<string, { data: Float32Array }>();
    for (const name of this.weights.keys()) {
      grads.set(name, { data: out[`grad.${name}`].data as Float32Array });
    }
    return { loss: (out.loss.data as Float32Array)[0], grads };
  }

  /**
   * Samples continuations of `prompts` (token ids, any lengths: left-padded into one batch) with a KV cache.
   */
  async generate(prompts: number[][], o: GenerateOptions): Promise<GenerateResult> {
    const cfg = this.config, hd = cfg.headDim, V = cfg.vocabSize;
    const why = fastDecodeUnsupported(cfg);
    if ((o.graph ?? "fast") === "fast" && !why) return await generateFast(this, prompts, o);
    if ((o.graph ?? "fast") === "fast" && !fallbackNoticeShown.has(why!)) {
      fallbackNoticeShown.add(why!);
      console.error(`generate: standard-op decode graph for ${this.dir} (${why})`);
    }
    if ((o.quantization ?? "none") !== "none") {
      throw new Error(
        `generate: rollout quantization needs the fast decode graph (${why ?? "graph: standard"})`,
      );
    }
    const spec = o.lora?.spec;
    const s = await this.session(
      `decode|${specKey(spec)}`,
      () => buildDecodeGraph(cfg, this.weights, { lora: spec }),
    );
    const B = prompts.length, P0 = Math.max(...prompts.map((p) => p.length));
    const pad = this.tokenizer?.padTokenId ?? cfg.padTokenId ?? 0;
    const eos = new Set(this.tokenizer?.eosTokenIds ?? cfg.eosTokenIds);
    const lora = o.lora ? this.loraFeeds(o.lora) : {};
    let keyMask: number[] = [];
    const ids: number[] = [];
    for (const p of prompts) {
      for (let i = 0; i < P0 - p.length; i++) ids.push(pad), keyMask.push(0);
      for (const t of p) ids.push(t), keyMask.push(1);
    }
    let pos = positionsFromMask(keyMask, B, P0);
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
        if (o.returnLogprobs) lps[r].push(logSoftmaxAt(logits, r * V, V, t));
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

function scatter(values: Float32Array, positions: number[], into: Float32Array): void {
  positions.forEach((p, k) => (into[p] = values[k]));
}

function specKey(spec?: LoraSpec): string {
  return spec ? `${spec.r}:${spec.alpha}:${spec.targets.join(",")}` : "base";
}
