/**
 * Exports a {@linkcode CausalLM} (optionally with a LoRA adapter merged in) as a folder that
 * `@huggingface/transformers` (v4) opens with `AutoModelForCausalLM.from_pretrained(dir)` and runs
 * `generate()` on:
 *
 * - `config.json` (the model's own, with `model_type`/`architectures` set, `head_dim`, and a
 *   `transformers.js_config` asking for the fp32 file), `generation_config.json`, and the tokenizer
 *   files of the model folder;
 * - `onnx/model.onnx` (plus `onnx/model.onnx_data` for models over ~1.5 GB) with the decoder-only I/O
 *   transformers.js feeds: inputs `input_ids` [batch_size, sequence_length], `attention_mask`
 *   [batch_size, total_sequence_length], `position_ids` [batch_size, sequence_length] (all int64) and
 *   `past_key_values.<i>.key|value` [batch_size, kv_heads, past_sequence_length, head_dim]; outputs
 *   `logits` [batch_size, sequence_length, vocab] and `present.<i>.key|value`.
 *
 * RoPE tables and the additive causal + padding bias are computed inside the graph from `position_ids`
 * and `attention_mask` (query t of T new tokens after P cached ones sees key j when j ≤ P + t and the
 * key is not padding), so the graph gives the same numbers as the engine's own decode graph.
 * @module
 */
// @ts-types="./hf_transformers.d.ts"
import * as transformers from "@huggingface/transformers";
import { basename, join, resolve } from "node:path";
import { type Device, Graph, op, type Tensor } from "../onnx/mod.ts";
import { decoder, lmHead } from "./llama.ts";
import { initializerParams, type Weight } from "./graphs.ts";
import { MASKED, ropeInvFreq } from "./inputs.ts";
import type { CausalLM } from "./causal_lm.ts";
import { HF_ARCHITECTURE, type ModelConfig } from "./config.ts";
import type { LoraAdapter } from "./lora.ts";
import { mergeLora } from "./lora_merge.ts";
import { pathExists, UserError, writeFileAtomic, writeJsonAtomic } from "../util/mod.ts";

/** Tokenizer and chat-template files copied from the model folder when present. */
export const TOKENIZER_FILES: readonly string[] = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "vocab.json",
  "merges.txt",
  "chat_template.jinja",
  "chat_template.json",
];

/** Initializer bytes above which the weights go to `onnx/model.onnx_data` (protobuf's 2 GB limit). */
export const EXTERNAL_DATA_BYTES = 1.5 * 2 ** 30;

/** Options of {@linkcode exportTransformersJs}. */
export interface ExportTransformersJsOptions {
  /** An adapter merged into the exported weights (W + alpha/r · B·A). */
  lora?: LoraAdapter | null;
  /** Initializer bytes from which the weights go to `onnx/model.onnx_data` (default {@linkcode EXTERNAL_DATA_BYTES}). */
  externalDataBytes?: number;
  /** Require and copy the tokenizer files (default true; false for token-id-only use such as benchmarks). */
  tokenizer?: boolean;
}

/** What {@linkcode exportTransformersJs} wrote. */
export interface ExportTransformersJsResult {
  /** The folder. */
  dir: string;
  /** Every file written, relative to `dir`. */
  files: string[];
  /** Whether the weights went to an external data file. */
  externalData: boolean;
}

function unaryNode(opType: string, x: Tensor): Tensor {
  return x.graph.node(opType, [x], [{ dtype: x.dtype, shape: [...x.shape] }])[0];
}

function dimOf(x: Tensor, axis: number): Tensor {
  const g = x.graph;
  return g.node("Gather", [op.shapeOf(x), g.scalar("int64", axis)], [{ dtype: "int64", shape: [] }], {
    axis: 0,
  })[0];
}

function range(start: Tensor, limit: Tensor, name: string): Tensor {
  const g = start.graph;
  return g.node("Range", [start, limit, g.scalar("int64", 1)], [{ dtype: "int64", shape: [name] }])[0];
}

/**
 * The transformers.js decoder graph for `cfg` with `weights` as initializers (float32). See the
 * module documentation for its inputs and outputs.
 */
export function buildTransformersJsGraph(cfg: ModelConfig, weights: Map<string, Weight>): Graph {
  const g = new Graph("model");
  const { headDim: hd, numKvHeads: nkv } = cfg;
  const ids = g.input("input_ids", "int64", ["batch_size", "sequence_length"]);
  const mask = g.input("attention_mask", "int64", ["batch_size", "total_sequence_length"]);
  const pos = g.input("position_ids", "int64", ["batch_size", "sequence_length"]);
  const past = Array.from({ length: cfg.numLayers }, (_, i) => ({
    k: g.input(`past_key_values.${i}.key`, "float32", ["batch_size", nkv, "past_sequence_length", hd]),
    v: g.input(`past_key_values.${i}.value`, "float32", ["batch_size", nkv, "past_sequence_length", hd]),
  }));
  // RoPE: angle = position · inv_freq (both halves), in float64 like the engine's host tables.
  const inv = [...ropeInvFreq({ headDim: hd, theta: cfg.ropeTheta, scaling: cfg.ropeScaling })];
  const angle = op.mul(op.unsqueeze(op.cast(pos, "float64"), [-1]), g.constant("float64", [...inv, ...inv]));
  const cos = op.cast(unaryNode("Cos", angle), "float32"); // [B, T, hd]
  const sin = op.cast(unaryNode("Sin", angle), "float32");
  // Bias [B, T, S]: query t (absolute index S − T + t) sees key j when j ≤ S − T + t and mask[b, j] = 1.
  const T = dimOf(ids, 1), S = dimOf(mask, 1);
  const keyIdx = range(g.scalar("int64", 0), S, "total_sequence_length"); // [S]
  const queryIdx = range(op.sub(S, T), S, "sequence_length"); // [T]
  const future = op.greater(op.unsqueeze(keyIdx, [0]), op.unsqueeze(queryIdx, [1])); // [T, S]
  const padded = op.unsqueeze(op.equal(mask, 0), [1]); // [B, 1, S]
  const blocked = g.node("Or", [padded, future], [{
    dtype: "bool",
    shape: ["batch_size", "sequence_length", "total_sequence_length"],
  }])[0];
  const bias = op.where(blocked, g.scalar("float32", MASKED), 0);
  const p = initializerParams(g, { weights, dtype: "float32" });
  const inputs = { ids, cos, sin, bias, past };
  const { hidden, present } = decoder(cfg, { params: p, inputs, recompute: false });
  const logits2d = lmHead(hidden, { cfg, params: p }); // [B·T, V]
  const bt = op.shapeOf(ids);
  const logits = g.node("Reshape", [logits2d, op.concat([bt, g.ints([cfg.vocabSize])], 0)], [{
    dtype: "float32",
    shape: [ids.shape[0], ids.shape[1], cfg.vocabSize],
  }])[0]; // [B, T, V]
  g.output(logits, "logits");
  present.forEach((kv, i) => {
    g.output(kv.k, `present.${i}.key`);
    g.output(kv.v, `present.${i}.value`);
  });
  return g;
}

async function readJsonIfAny(path: string): Promise<Record<string, unknown> | undefined> {
  if (!(await pathExists(path))) return undefined;
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** Writes chunks to `path` through a temp file renamed into place. */
async function writeChunksAtomic(path: string, chunks: Uint8Array[]): Promise<void> {
  const tmp = join(path + `.${Deno.pid}.tmp`);
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    for (const c of chunks) {
      let off = 0;
      while (off < c.length) off += await f.write(c.subarray(off));
    }
    await f.sync();
  } finally {
    f.close();
  }
  await Deno.rename(tmp, path);
}

/**
 * Writes `model` (with `options.lora` merged) to `outDir` as a transformers.js model folder; returns
 * the files written. The tokenizer files are copied from the model folder (a model without
 * `tokenizer.json` there cannot be exported: {@linkcode UserError}, unless `tokenizer: false`, for
 * token-id-only use such as benchmarks).
 */
export async function exportTransformersJs(
  model: CausalLM,
  outDir: string,
  options: ExportTransformersJsOptions = {},
): Promise<ExportTransformersJsResult> {
  const cfg = model.config;
  if (options.tokenizer !== false && !(await pathExists(join(model.dir, "tokenizer.json")))) {
    throw new UserError(`cannot export ${model.dir}: the model folder has no tokenizer.json`);
  }
  await Deno.mkdir(join(outDir, "onnx"), { recursive: true });
  const files: string[] = [];
  const graph = buildTransformersJsGraph(cfg, mergeLora(model.weights, options.lora));
  const externalData = graph.initializerBytes() >= (options.externalDataBytes ?? EXTERNAL_DATA_BYTES);
  if (externalData) {
    const chunks: Uint8Array[] = [];
    const bytes = graph.toBytes({
      external: { file: "model.onnx_data", sink: (c) => chunks.push(c) },
    });
    await writeChunksAtomic(join(outDir, "onnx", "model.onnx_data"), chunks);
    await writeFileAtomic(join(outDir, "onnx", "model.onnx"), bytes);
    files.push("onnx/model.onnx", "onnx/model.onnx_data");
  } else {
    await writeFileAtomic(join(outDir, "onnx", "model.onnx"), graph.toBytes());
    files.push("onnx/model.onnx");
  }
  const arch = cfg.architecture;
  const config = {
    ...cfg.raw,
    architectures: [HF_ARCHITECTURE[arch]],
    model_type: arch,
    head_dim: cfg.headDim,
    num_key_value_heads: cfg.numKvHeads,
    torch_dtype: "float32",
    "transformers.js_config": { dtype: "fp32", ...(externalData ? { use_external_data_format: true } : {}) },
  };
  await writeJsonAtomic(join(outDir, "config.json"), config);
  files.push("config.json");
  const tok = model.tokenizer;
  const gen = (await readJsonIfAny(join(model.dir, "generation_config.json"))) ?? {
    ...(cfg.bosTokenId !== undefined ? { bos_token_id: cfg.bosTokenId } : {}),
    eos_token_id: tok?.eosTokenIds.length ? tok.eosTokenIds : cfg.eosTokenIds,
    pad_token_id: tok?.padTokenId ?? cfg.padTokenId,
  };
  await writeJsonAtomic(join(outDir, "generation_config.json"), gen);
  files.push("generation_config.json");
  for (const name of TOKENIZER_FILES) {
    const src = join(model.dir, name);
    if (!(await pathExists(src))) continue;
    await writeFileAtomic(join(outDir, name), await Deno.readFile(src));
    files.push(basename(name));
  }
  return { dir: outDir, files, externalData };
}

/** A `@huggingface/transformers` tensor (the slice used here). */
export interface TfjsTensor {
  readonly type: string;
  readonly data: ArrayLike<number> | BigInt64Array;
  readonly dims: number[];
  tolist(): unknown[];
}

/** A transformers.js causal LM (the slice used here): call it for logits, or `generate`. */
export interface TfjsCausalLM {
  (inputs: Record<string, TfjsTensor>): Promise<{ logits: TfjsTensor }>;
  generate(options: Record<string, unknown>): Promise<TfjsTensor>;
  readonly config: Record<string, unknown>;
  dispose(): Promise<unknown>;
}

/** A transformers.js tokenizer (the slice used here). */
export interface TfjsTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  readonly eos_token_id?: number | null;
  readonly pad_token_id?: number | null;
  readonly bos_token_id?: number | null;
}

interface TfjsRuntime {
  Tensor: new (type: string, data: BigInt64Array | Float32Array, dims: number[]) => TfjsTensor;
  AutoModelForCausalLM: { from_pretrained(id: string, o: Record<string, unknown>): Promise<TfjsCausalLM> };
  AutoTokenizer: { from_pretrained(id: string, o: Record<string, unknown>): Promise<TfjsTokenizer> };
}

/** The transformers.js runtime, typed by hand (see `hf_transformers.d.ts` for why). */
const tfjs = transformers as unknown as TfjsRuntime;

/** An int64 transformers.js tensor from numbers. */
export function tfjsInt64(values: ArrayLike<number>, dims: number[]): TfjsTensor {
  return new tfjs.Tensor("int64", BigInt64Array.from(Array.from(values), (v) => BigInt(v)), dims);
}

/** Options of {@linkcode openTransformersJs}. */
export interface OpenTransformersJsOptions {
  /** "auto" (default: transformers.js's default, CPU under Node/Deno), "cuda" or "cpu". */
  device?: Device;
  /** ORT intra-op threads. */
  threads?: number;
  /** transformers.js dtype, i.e. which `onnx/model*.onnx` file (default "fp32": `model.onnx`). */
  dtype?: string;
}

/**
 * Opens a transformers.js causal LM and its tokenizer: a local folder (offline; it must hold
 * `onnx/model.onnx` and `config.json`, e.g. one {@linkcode exportTransformersJs} wrote) or a hub id
 * (downloaded into transformers.js's own cache). Failures are a {@linkcode UserError} naming the model.
 */
export async function openTransformersJs(
  idOrDir: string,
  options: OpenTransformersJsOptions = {},
): Promise<{ model: TfjsCausalLM; tokenizer: TfjsTokenizer; source: string }> {
  const local = await pathExists(idOrDir);
  const dtype = options.dtype ?? "fp32";
  if (local) {
    const file = join(idOrDir, "onnx", dtype === "fp32" ? "model.onnx" : `model_${dtype}.onnx`);
    if (!(await pathExists(join(idOrDir, "config.json")))) {
      throw new UserError(`transformers.js model folder ${idOrDir} has no config.json`);
    }
    if (dtype === "fp32" && !(await pathExists(file))) {
      throw new UserError(`transformers.js model folder ${idOrDir} has no onnx/model.onnx`);
    }
  }
  const source = local ? resolve(idOrDir) : idOrDir;
  const common = { local_files_only: local };
  const device = options.device && options.device !== "auto" ? options.device : undefined;
  try {
    const [model, tokenizer] = await Promise.all([
      tfjs.AutoModelForCausalLM.from_pretrained(source, {
        ...common,
        dtype,
        ...(device ? { device } : {}),
        ...(options.threads
          ? { session_options: { intraOpNumThreads: options.threads, interOpNumThreads: 1 } }
          : {}),
      }),
      tfjs.AutoTokenizer.from_pretrained(source, common),
    ]);
    return { model, tokenizer, source };
  } catch (e) {
    const msg = String((e as Error)?.message ?? e).split("\n")[0];
    throw new UserError(`cannot open transformers.js model "${idOrDir}": ${msg}`);
  }
}
