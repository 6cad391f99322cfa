/**
 * LoRA adapters in PEFT's file format: `adapter_config.json` + `adapter_model.safetensors` with tensor names
 * `base_model.model.<module>.lora_A.weight` ([r, in]) and `.lora_B.weight` ([out, r]). A is initialized
 * Kaiming-uniform, B zeros (PEFT's default), so a new adapter leaves the model unchanged.
 * @module
 */
import { join } from "node:path";
import { type LlamaShape, LORA_TARGETS, type LoraTarget, MODULE_SECTION, projectionDims } from "./llama.ts";
import type { LoraSpec } from "./graphs.ts";
import { readSafetensors, writeSafetensors } from "./safetensors.ts";
import { Rng, UserError, writeJsonAtomic } from "../util/mod.ts";

/** A LoRA adapter: its spec and its factors by PEFT name. */
export interface LoraAdapter {
  spec: LoraSpec;
  /** PEFT tensor name → data (float32, row-major). */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  /** The base model this adapter belongs to (recorded in adapter_config.json). */
  baseModel: string;
}

/** Validates a LoRA spec (rank, alpha, targets). */
export function validateLoraSpec(spec: LoraSpec): void {
  if (!Number.isInteger(spec.r) || spec.r < 1) {
    throw new UserError(`lora.r must be a positive integer, got ${spec.r}`);
  }
  if (!(spec.alpha > 0)) throw new UserError(`lora.alpha must be positive, got ${spec.alpha}`);
  if (!spec.targets.length) throw new UserError("lora.targets is empty");
  for (const t of spec.targets) {
    if (!LORA_TARGETS.includes(t)) {
      throw new UserError(`unknown lora target "${t}" (expected some of ${LORA_TARGETS.join(", ")})`);
    }
  }
}

/** PEFT names and shapes of every factor for `cfg` and `spec`, in a fixed order. */
export function loraShapes(cfg: LlamaShape, spec: LoraSpec): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (let i = 0; i < cfg.numLayers; i++) {
    for (const t of spec.targets) {
      const [fin, fout] = projectionDims(cfg, t);
      const base = `base_model.model.model.layers.${i}.${MODULE_SECTION[t]}.${t}`;
      m.set(`${base}.lora_A.weight`, [spec.r, fin]);
      m.set(`${base}.lora_B.weight`, [fout, spec.r]);
    }
  }
  return m;
}

/** A fresh adapter: A ~ U(−1/√in, 1/√in) (Kaiming-uniform with a = √5, as PEFT), B = 0. */
export function initLora(
  cfg: LlamaShape,
  spec: LoraSpec,
  options: { seed?: number; baseModel?: string } = {},
): LoraAdapter {
  validateLoraSpec(spec);
  const rng = new Rng(options.seed ?? 0);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of loraShapes(cfg, spec)) {
    const data = new Float32Array(shape[0] * shape[1]);
    if (name.endsWith("lora_A.weight")) {
      const bound = 1 / Math.sqrt(shape[1]);
      for (let i = 0; i < data.length; i++) data[i] = (2 * rng.float() - 1) * bound;
    }
    tensors.set(name, { shape, data });
  }
  return { spec: { ...spec, targets: [...spec.targets] }, tensors, baseModel: options.baseModel ?? "" };
}

/** Writes `adapter_config.json` and `adapter_model.safetensors` into `dir` (atomically). */
export async function saveLora(dir: string, adapter: LoraAdapter): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, "adapter_model.safetensors"), adapter.tensors, {
    metadata: { format: "pt" },
  });
  await writeJsonAtomic(join(dir, "adapter_config.json"), {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    base_model_name_or_path: adapter.baseModel,
    r: adapter.spec.r,
    lora_alpha: adapter.spec.alpha,
    lora_dropout: 0,
    bias: "none",
    target_modules: adapter.spec.targets,
    fan_in_fan_out: false,
    inference_mode: true,
  });
}

/** Loads an adapter from `dir` and checks it fits `cfg` (else a one-line error naming the tensor). */
export async function loadLora(dir: string, cfg: LlamaShape): Promise<LoraAdapter> {
  const cfgPath = join(dir, "adapter_config.json");
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await Deno.readTextFile(cfgPath));
  } catch (e) {
    throw new UserError(
      e instanceof Deno.errors.NotFound
        ? `adapter folder ${dir} has no adapter_config.json`
        : `${cfgPath}: not valid JSON`,
    );
  }
  if (raw.peft_type !== undefined && raw.peft_type !== "LORA") {
    throw new UserError(`${cfgPath}: peft_type "${raw.peft_type}" is not LORA`);
  }
  const targets = raw.target_modules as LoraTarget[];
  const spec: LoraSpec = {
    r: Number(raw.r),
    alpha: Number(raw.lora_alpha),
    targets: Array.isArray(targets) ? targets : [],
  };
  validateLoraSpec(spec);
  const file = join(dir, "adapter_model.safetensors");
  const read = await readSafetensors(file);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const expected = loraShapes(cfg, spec);
  for (const [name, shape] of expected) {
    const t = read.get(name);
    if (!t) throw new UserError(`${file}: missing ${name} (adapter trained for another model?)`);
    if (t.shape.join(",") !== shape.join(",")) {
      throw new UserError(
        `${file}: ${name} has shape [${t.shape}], this model expects [${shape}] (adapter trained for another model)`,
      );
    }
    tensors.set(name, { shape, data: t.data as Float32Array });
  }
  for (const name of read.keys()) {
    if (!expected.has(name)) {
      throw new UserError(`${file}: unexpected tensor ${name} (adapter trained for another model?)`);
    }
  }
  return { spec, tensors, baseModel: String(raw.base_model_name_or_path ?? "") };
}
