/**
 * A loaded causal LM (config, weights, tokenizer) with cached ONNX sessions for log-probs, KV-cache generation,
 * a LoRA training step over a loss it is given ({@linkcode CausalLM.trainStep}) and the full-weight LM training
 * step. It knows no particular training objective (the GRPO loss is built in lib/grpo).
 * @module
 */
import type * as ort from "onnxruntime-node";
import { checkWeightsFit, loadModelConfig, type ModelConfig } from "./config.ts";
import { loadModelWeights } from "./safetensors.ts";
import { loadTokenizer, type Tokenizer } from "./tokenizer.ts";
import { resolveModelDir } from "./hub.ts";
import { buildLogprobGraph, type Weight } from "./graphs.ts";
import { buildLmTrainGraph, buildLoraTrainGraph, type TrainLoss } from "./train_graph.ts";
import {
  f,
  loraFeeds,
  nextTokenPositions,
  positionFeeds,
  scatter,
  sequenceFeeds,
  specKey,
  type TokenBatch,
} from "./feeds.ts";
import type { LoraAdapter } from "./lora.ts";
import type { Tensors } from "./adamw.ts";
import { createSession, type Device, type Graph, type Session } from "../onnx/mod.ts";
import { notice } from "../util/mod.ts";
import { fastDecodeUnsupported } from "./decode_graph.ts";
import { generateFast } from "./generate_fast.ts";
import { type GenerateOptions, type GenerateResult, generateStandard } from "./generate_standard.ts";

export type { GenerateOptions, GenerateResult, TokenBatch };
export { nextTokenPositions };

const fallbackNoticeShown = new Set<string>();

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

/** What a {@linkcode CausalLM} is made of. */
export interface ModelParts {
  /** Where it came from (a folder, or a name for messages). */
  dir: string;
  config: ModelConfig;
  weights: Map<string, Weight>;
  /** Absent or null: no tokenizer. */
  tokenizer?: Tokenizer | null;
}

/** Options of {@linkcode CausalLM.trainStep}. */
export interface TrainStepOptions {
  /** The adapter trained. */
  lora: LoraAdapter;
  /** The loss (it declares its inputs; sessions are cached by its key). */
  loss: TrainLoss;
  /** `[B·T]` next-token aligned: positions with a value > 0 are scored (the others never reach the head). */
  scored: ArrayLike<number>;
  /** The loss's inputs for the scored positions (flat indices b·T + t, in graph order). */
  feeds: (positions: readonly number[]) => Record<string, ort.Tensor>;
  /** Names of the loss's `[M]` outputs to return, scattered to `[B·T]`. */
  outputs?: readonly string[];
}

/** What {@linkcode CausalLM.trainStep} returns. */
export interface TrainStepResult {
  loss: number;
  /** The policy's log-probs `[B·T]` (next-token aligned; 0 off the scored positions). */
  logprobs: Float32Array;
  /** The LoRA gradients, by PEFT name. */
  grads: Tensors;
  /** The requested per-position outputs, `[B·T]` (absent when nothing was scored). */
  outputs: Record<string, Float32Array>;
}

/** Weights from which training sessions skip pre-packing by default. */
const PREPACK_LIMIT = 2 * 2 ** 30;

/** A causal LM ready to run. */
export class CausalLM {
  readonly dir: string;
  readonly config: ModelConfig;
  readonly weights: Map<string, Weight>;
  readonly tokenizer: Tokenizer | null;
  readonly options: ModelLoadOptions;
  #sessions = new Map<string, Promise<Session>>();

  /** A model from parts already loaded (a folder: {@linkcode CausalLM.load}). */
  constructor(parts: ModelParts, options: ModelLoadOptions = {}) {
    this.dir = parts.dir;
    this.config = parts.config;
    this.weights = parts.weights;
    this.tokenizer = parts.tokenizer ?? null;
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
    return new CausalLM(
      { dir, config, weights: weights as unknown as Map<string, Weight>, tokenizer },
      options,
    );
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
      ...sequenceFeeds(this.config, b),
      ...positionFeeds(b, positions),
      ...(lora ? loraFeeds(lora) : {}),
    });
    scatter(out.logprobs.data as Float32Array, { positions, into: logprobs });
    scatter(out.entropy.data as Float32Array, { positions, into: entropy });
    return { logprobs, entropy };
  }

  /**
   * One forward+backward of a LoRA training graph over `o.loss` (see `train_graph.ts`). The positions scored
   * are those where `o.scored` (`[B·T]`, next-token aligned) is > 0 and the next token is real; `o.feeds` gives
   * the loss's own inputs for them. Returns the loss, the policy's log-probs `[B·T]`, the LoRA gradients and
   * the loss's per-position outputs named in `o.outputs`, scattered to `[B·T]`. No scored position: loss 0 and
   * zero gradients, without running anything.
   */
  async trainStep(b: TokenBatch, o: TrainStepOptions): Promise<TrainStepResult> {
    const { lora } = o;
    const positions = nextTokenPositions(b, (i) => o.scored[i] > 0);
    const size = b.batch * b.length;
    const logprobs = new Float32Array(size);
    const grads: Tensors = new Map();
    if (!positions.length) {
      for (const [name, t] of lora.tensors) grads.set(name, { data: new Float32Array(t.data.length) });
      return { loss: 0, logprobs, grads, outputs: {} };
    }
    const ckpt = !!this.options.gradientCheckpointing;
    const s = await this.session(
      `train|${specKey(lora.spec)}|${o.loss.key}|${ckpt}`,
      () =>
        buildLoraTrainGraph(this.config, this.weights, {
          lora: lora.spec,
          loss: o.loss,
          gradientCheckpointing: ckpt,
        }),
      { training: true },
    );
    const out = await s.run({
      ...sequenceFeeds(this.config, b),
      ...positionFeeds(b, positions),
      ...loraFeeds(lora),
      ...o.feeds(positions),
    });
    for (const name of lora.tensors.keys()) {
      grads.set(name, { data: out[`grad.${name}`].data as Float32Array });
    }
    scatter(out.logprobs.data as Float32Array, { positions, into: logprobs });
    const outputs: Record<string, Float32Array> = {};
    for (const name of o.outputs ?? []) {
      scatter(out[name].data as Float32Array, { positions, into: outputs[name] = new Float32Array(size) });
    }
    return { loss: (out.loss.data as Float32Array)[0], logprobs, grads, outputs };
  }

  /** One full-weight next-token cross-entropy step: loss = −Σ w·log p; gradients of every weight. */
  async lmStep(b: TokenBatch, tokenWeights: ArrayLike<number>): Promise<{ loss: number; grads: Tensors }> {
    const s = await this.session("lm_train", () => buildLmTrainGraph(this.config), { training: true });
    const positions = nextTokenPositions(b, (i) => tokenWeights[i] > 0);
    const feeds: Record<string, ort.Tensor> = {
      ...sequenceFeeds(this.config, b),
      ...positionFeeds(b, positions),
      token_weights: f(Float32Array.from(positions, (i) => tokenWeights[i]), [positions.length]),
    };
    for (const [name, w] of this.weights) feeds[name] = f(w.data as Float32Array, w.shape);
    const out = await s.run(feeds);
    const grads: Tensors = new Map();
    for (const name of this.weights.keys()) {
      grads.set(name, { data: out[`grad.${name}`].data as Float32Array });
    }
    return { loss: (out.loss.data as Float32Array)[0], grads };
  }

  /**
   * Samples continuations of `prompts` (token ids, any lengths: left-padded into one batch) with a KV cache:
   * the fast decode graph when the model can use it, else the standard-op graph (one notice per reason).
   */
  async generate(prompts: number[][], o: GenerateOptions): Promise<GenerateResult> {
    const why = fastDecodeUnsupported(this.config);
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
    return await generateStandard(this, { ...o, prompts });
  }
}
