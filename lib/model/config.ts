/**
 * A model folder's `config.json`, validated and normalized into {@linkcode ModelConfig}, and a check
 * that a weight file fits it. Supported: Llama (incl. SmolLM/SmolLM2), Qwen2 (incl. Qwen2.5) and Qwen3.
 * @module
 */
import { join } from "node:path";
import { UserError } from "../util/mod.ts";
import { type LlamaShape, weightShapes } from "./llama.ts";
import type { Llama3RopeScaling } from "./inputs.ts";

/** What distinguishes one architecture of the Llama family in `config.json` and in the graphs. */
export interface ArchitectureRow {
  /** Its Hugging Face `architectures` entry. */
  hfClass: string;
  /** `max_position_embeddings` when the config has none. */
  defaultMaxPositions: number;
  /** q/k/v projection biases: always, or as the config's `attention_bias` says. */
  qkvBias: "always" | "attention_bias";
  /** Per-head RMSNorm of queries and keys before RoPE. */
  qkNorm: boolean;
}

/**
 * The architectures the graph builders implement, one row each, keyed by `model_type`: a new member of the
 * Llama family is one row here (plus, when it needs new graph pieces, a flag read by `llama.ts`).
 */
export const ARCHITECTURE_TABLE = Object.freeze(
  {
    llama: {
      hfClass: "LlamaForCausalLM",
      defaultMaxPositions: 2048,
      qkvBias: "attention_bias",
      qkNorm: false,
    },
    qwen2: { hfClass: "Qwen2ForCausalLM", defaultMaxPositions: 32768, qkvBias: "always", qkNorm: false },
    qwen3: {
      hfClass: "Qwen3ForCausalLM",
      defaultMaxPositions: 40960,
      qkvBias: "attention_bias",
      qkNorm: true,
    },
  } as const satisfies Record<string, ArchitectureRow>,
);

/** The architectures the graph builders implement (the `model_type` of each row of the table). */
export type Architecture = keyof typeof ARCHITECTURE_TABLE;

/** A validated, normalized model configuration: the graphs' {@linkcode LlamaShape} plus what the loader reads. */
export interface ModelConfig extends LlamaShape {
  /** "llama" (Llama, SmolLM), "qwen2" (Qwen2, Qwen2.5) or "qwen3" (Qwen3 dense). */
  architecture: Architecture;
  /** Per-head RMSNorm of queries and keys (always set here; see {@linkcode LlamaShape.qkNorm}). */
  qkNorm: boolean;
  /** `max_position_embeddings`. */
  maxPositions: number;
  /** Beginning-of-sequence token id, when the config names one. */
  bosTokenId?: number;
  /** End-of-sequence token ids (config's `eos_token_id`, a number or a list). */
  eosTokenIds: number[];
  /** Padding token id, when the config names one. */
  padTokenId?: number;
  /** The parsed config.json as read. */
  raw: Record<string, unknown>;
}

const ROWS = Object.entries(ARCHITECTURE_TABLE) as [Architecture, ArchitectureRow][];
const ARCHITECTURES: Record<string, Architecture> = Object.fromEntries(ROWS.map(([a, r]) => [r.hfClass, a]));
const MODEL_TYPES: Record<string, Architecture> = Object.fromEntries(ROWS.map(([a]) => [a, a]));

/** The Hugging Face `architectures` entry of each architecture (for configs this project writes). */
export const HF_ARCHITECTURE: Record<Architecture, string> = Object.fromEntries(
  ROWS.map(([a, r]) => [a, r.hfClass]),
) as Record<Architecture, string>;

/** Reads `dir/config.json` and validates it with {@linkcode parseModelConfig}. */
export async function loadModelConfig(dir: string): Promise<ModelConfig> {
  const path = join(dir, "config.json");
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`model folder ${dir} has no config.json`);
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseModelConfig(raw, { source: path });
}

/** Options of {@linkcode parseModelConfig}. */
export interface ParseModelConfigOptions {
  /** Where the config came from, for error messages (default "config.json"). */
  source?: string;
}

/**
 * Validates a parsed `config.json` object. Unknown architectures, missing or invalid fields,
 * heads that do not divide, rope scaling other than Llama 3's, sliding windows, quantization and non-SiLU activations
 * each throw a {@linkcode UserError} naming the field.
 */
export function parseModelConfig(raw: unknown, options: ParseModelConfigOptions = {}): ModelConfig {
  const src = options.source ?? "config.json";
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new UserError(`${src}: not a JSON object`);
  const c = raw as Record<string, unknown>;
  const architecture = detectArchitecture(c, src);

  const int = (field: string, fallback?: number): number => {
    const v = c[field] ?? fallback;
    if (v === undefined || v === null) throw new UserError(`${src}: missing field "${field}"`);
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      throw new UserError(`${src}: field "${field}" must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const num = (field: string, fallback: number): number => {
    const v = c[field] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new UserError(`${src}: field "${field}" must be a positive number, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const bool = (field: string, fallback: boolean): boolean => {
    const v = c[field] ?? fallback;
    if (typeof v !== "boolean") throw new UserError(`${src}: field "${field}" must be true or false`);
    return v;
  };
  const tokenId = (field: string): number[] => {
    const v = c[field];
    if (v === undefined || v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    if (!list.every((x) => Number.isInteger(x) && x >= 0)) {
      throw new UserError(
        `${src}: field "${field}" must be a token id or a list of them, got ${JSON.stringify(v)}`,
      );
    }
    return list as number[];
  };

  const vocabSize = int("vocab_size");
  const hiddenSize = int("hidden_size");
  const intermediateSize = int("intermediate_size");
  const numLayers = int("num_hidden_layers");
  const numHeads = int("num_attention_heads");
  const numKvHeads = int("num_key_value_heads", numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new UserError(
      `${src}: num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`,
    );
  }
  if (c.head_dim == null && hiddenSize % numHeads !== 0) {
    throw new UserError(
      `${src}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`,
    );
  }
  const headDim = int("head_dim", hiddenSize / numHeads);
  if (headDim % 2 !== 0) throw new UserError(`${src}: head_dim ${headDim} must be even for RoPE`);

  const rope = (c.rope_parameters ?? null) as Record<string, unknown> | null;
  const ropeTheta = rope && typeof rope === "object" && rope.rope_theta !== undefined
    ? num("rope_theta", rope.rope_theta as number)
    : num("rope_theta", 10000);
  const ropeScaling = ropeScalingOf(c.rope_scaling, "rope_scaling", src) ??
    ropeScalingOf(rope, "rope_parameters", src);
  if (c.use_sliding_window === true) {
    throw new UserError(`${src}: use_sliding_window = true is not supported`);
  }
  if (c.hidden_act !== undefined && c.hidden_act !== "silu") {
    throw new UserError(`${src}: hidden_act ${JSON.stringify(c.hidden_act)} is not supported (only "silu")`);
  }
  if (c.rope_interleaved === true) throw new UserError(`${src}: rope_interleaved = true is not supported`);
  if (c.mlp_bias === true) throw new UserError(`${src}: mlp_bias = true is not supported`);
  if (c.quantization_config != null) throw new UserError(`${src}: quantized models are not supported`);

  const row: ArchitectureRow = ARCHITECTURE_TABLE[architecture];
  const qkvBias = row.qkvBias === "always" ? true : bool("attention_bias", false);
  const bos = tokenId("bos_token_id"), pad = tokenId("pad_token_id");
  return {
    architecture,
    vocabSize,
    hiddenSize,
    intermediateSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    ropeTheta,
    ...(ropeScaling ? { ropeScaling } : {}),
    rmsNormEps: num("rms_norm_eps", 1e-6),
    tieWordEmbeddings: bool("tie_word_embeddings", false),
    qkvBias,
    qkNorm: row.qkNorm,
    maxPositions: int("max_position_embeddings", row.defaultMaxPositions),
    ...(bos.length ? { bosTokenId: bos[0] } : {}),
    eosTokenIds: tokenId("eos_token_id"),
    ...(pad.length ? { padTokenId: pad[0] } : {}),
    raw: c,
  };
}

function detectArchitecture(c: Record<string, unknown>, src: string): Architecture {
  const supported = Object.keys(ARCHITECTURES).join(", ");
  const archs = c.architectures;
  if (Array.isArray(archs) && archs.length > 0) {
    const name = archs[0];
    const a = ARCHITECTURES[String(name)];
    if (!a) throw new UserError(`${src}: architecture "${name}" is not supported (supported: ${supported})`);
    return a;
  }
  if (typeof c.model_type === "string") {
    const a = MODEL_TYPES[c.model_type];
    if (!a) {
      throw new UserError(
        `${src}: model_type "${c.model_type}" is not supported (supported: ${
          Object.keys(MODEL_TYPES).join(", ")
        })`,
      );
    }
    return a;
  }
  throw new UserError(`${src}: missing field "architectures" (or "model_type"); supported: ${supported}`);
}

/** Parses `rope_scaling` / `rope_parameters`: none or "default" → undefined, "llama3" → its parameters. */
function ropeScalingOf(v: unknown, field: string, src: string): Llama3RopeScaling | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new UserError(`${src}: field "${field}" must be an object`);
  }
  const r = v as Record<string, unknown>;
  const type = r.rope_type ?? r.type ?? "default";
  if (type === "default") return undefined;
  if (type !== "llama3") {
    throw new UserError(
      `${src}: ${field} type ${JSON.stringify(type)} is not supported (supported: "llama3")`,
    );
  }
  const num = (key: string): number => {
    const x = r[key];
    if (typeof x !== "number" || !Number.isFinite(x) || x <= 0) {
      throw new UserError(`${src}: ${field}.${key} must be a positive number, got ${JSON.stringify(x)}`);
    }
    return x;
  };
  const s = {
    factor: num("factor"),
    lowFreqFactor: num("low_freq_factor"),
    highFreqFactor: num("high_freq_factor"),
    originalMaxPositions: num("original_max_position_embeddings"),
  };
  if (s.highFreqFactor <= s.lowFreqFactor) {
    throw new UserError(
      `${src}: ${field}.high_freq_factor ${s.highFreqFactor} must exceed low_freq_factor ${s.lowFreqFactor}`,
    );
  }
  return s;
}

/** The tensor names and shapes a model with `config` needs, in a fixed order (one table: `weightShapes`). */
export function expectedWeightShapes(config: ModelConfig): Map<string, number[]> {
  return weightShapes(config);
}

/** Options of {@linkcode checkWeightsFit}. */
export interface CheckWeightsFitOptions {
  /** The weights' file or folder, named in error messages. */
  source?: string;
}

/** What {@linkcode checkWeightsFit} found besides the expected tensors. */
export interface WeightsFitReport {
  /** Tensors present but not used by the model (e.g. `rotary_emb.inv_freq`), for the caller to report. */
  unexpected: string[];
}

/**
 * Checks that `weights` hold every tensor `config` needs with the right shape; the first missing
 * or misshapen tensor, or a layer bias the graph would drop (e.g. `o_proj.bias`), throws a
 * {@linkcode UserError} naming it. A tied model may still carry an
 * `lm_head.weight` of the embedding's shape.
 */
export function checkWeightsFit(
  config: ModelConfig,
  weights: Map<string, { shape: number[] }>,
  options: CheckWeightsFitOptions = {},
): WeightsFitReport {
  const where = options.source ? `${options.source}: ` : "";
  const expected = expectedWeightShapes(config);
  if (config.tieWordEmbeddings) expected.set("lm_head.weight", [config.vocabSize, config.hiddenSize]);
  for (const [name, shape] of expected) {
    const t = weights.get(name);
    if (!t) {
      if (name === "lm_head.weight" && config.tieWordEmbeddings) continue;
      throw new UserError(`${where}missing tensor ${name} (config expects shape ${JSON.stringify(shape)})`);
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new UserError(
        `${where}${name} has shape ${JSON.stringify(t.shape)}, config expects ${JSON.stringify(shape)}`,
      );
    }
  }
  const unexpected = [...weights.keys()].filter((n) => !expected.has(n));
  // a bias the graph has no place for (e.g. o_proj.bias with attention_bias) would be dropped: refuse it
  const bias = unexpected.find((n) => /^model\.layers\.\d+\..*\.bias$/.test(n));
  if (bias) {
    throw new UserError(`${where}${bias} is not supported (this architecture's graph has no such bias)`);
  }
  return { unexpected };
}
