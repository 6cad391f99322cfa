/**
 * Runs one case of `shared/oracle/grpo_reference.py` (its JSON case format) through the engine's GRPO
 * training graph: the same weights, batch and loss, giving `loss`, `logprobs` and the LoRA gradients under
 * their PEFT names, for comparison with the PyTorch float64 reference.
 * @module
 */
import { loadModelConfig } from "../model/config.ts";
import { loadModelWeights, readSafetensors } from "../model/safetensors.ts";
import { buildGrpoGraph, buildLogprobGraph, type Weight } from "../model/graphs.ts";
import { type LoraTarget } from "../model/llama.ts";
import { attentionBias, positionsFromMask, ropeTables } from "../model/inputs.ts";
import { createSession, type Device } from "../onnx/session.ts";
import * as ort from "onnxruntime-node";
import { LOSS_TYPES, type LossType, shiftFromNext, shiftToNext, tokenWeights } from "./math.ts";
import { UserError } from "../util/errors.ts";

/** The oracle's case file. */
export interface OracleCase {
  input_ids: number[][];
  attention_mask: number[][];
  completion_mask: number[][];
  advantages: number[];
  old_logprobs: number[][] | null;
  loss_type: LossType;
  beta: number;
  epsilon: number;
  epsilon_high: number | null;
  max_completion_length: number;
  lora: { r: number; alpha: number; targets: LoraTarget[] };
}

/** Reads and checks a case file. */
export async function readOracleCase(path: string): Promise<OracleCase> {
  let c: OracleCase;
  try {
    c = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new UserError(`${path}: cannot read case JSON (${(e as Error).message.split("\n")[0]})`);
  }
  for (const k of ["input_ids", "attention_mask", "completion_mask", "advantages", "lora"] as const) {
    if (!c[k]) throw new UserError(`${path}: missing field "${k}"`);
  }
  if (!LOSS_TYPES.includes(c.loss_type)) throw new UserError(`${path}: unknown loss_type "${c.loss_type}"`);
  return c;
}

const flat = (rows: number[][]) => rows.flat();

/** Loss, log-probs (oracle alignment) and LoRA gradients for a case. */
export async function runOracleCase(
  modelDir: string,
  casePath: string,
  options: { dtype?: "float32" | "float64"; device?: Device } = {},
): Promise<Map<string, { shape: number[]; data: Float64Array }>> {
  const dtype = options.dtype ?? "float32";
  const cfg = await loadModelConfig(modelDir);
  const weights = await loadModelWeights(modelDir) as unknown as Map<string, Weight>;
  const c = await readOracleCase(casePath);
  const lora = await readSafetensors(casePath.replace(/\.json$/, "") + ".lora.safetensors");
  const B = c.input_ids.length, T = c.input_ids[0].length;
  const am = flat(c.attention_mask), cm = flat(c.completion_mask);
  const Arr = dtype === "float64" ? Float64Array : Float32Array;
  const F = (data: ArrayLike<number>, dims: number[]) => new ort.Tensor(dtype, Arr.from(data), dims);
  const ids = flat(c.input_ids);
  const pos = positionsFromMask(am, B, T);
  const { cos, sin } = ropeTables(pos, { headDim: cfg.headDim, theta: cfg.ropeTheta, dtype });
  const targets = shiftToNext(ids, B);
  const common: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [B, T]),
    target_ids: new ort.Tensor("int64", BigInt64Array.from(targets, (v) => BigInt(v)), [B, T]),
    rope_cos: new ort.Tensor(dtype, cos, [B, T, cfg.headDim]),
    rope_sin: new ort.Tensor(dtype, sin, [B, T, cfg.headDim]),
    attn_bias: new ort.Tensor(dtype, attentionBias(am, { batch: B, queries: T, keys: T, dtype }), [B, T, T]),
  };
  const loraFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of lora) loraFeeds[name] = F(t.data as Float32Array, t.shape);
  const spec = { r: c.lora.r, alpha: c.lora.alpha, targets: c.lora.targets };
  const feeds: Record<string, ort.Tensor> = { ...common, ...loraFeeds };
  const w = tokenWeights(cm, {
    batch: B,
    lossType: c.loss_type,
    maxCompletionLength: c.max_completion_length,
  });
  feeds.token_weights = F(shiftToNext(w, B), [B, T]);
  feeds.advantages = F(c.advantages, [B]);
  if (c.old_logprobs) feeds.old_logprobs = F(shiftToNext(flat(c.old_logprobs), B), [B, T]);
  if (c.beta) {
    const refSession = await createSession(buildLogprobGraph(cfg, weights, { dtype }), {
      device: options.device,
    });
    const ref = await refSession.run(common, ["logprobs"]);
    feeds.ref_logprobs = ref.logprobs;
    await refSession.release();
  }
  const graph = buildGrpoGraph(cfg, weights, {
    dtype,
    lora: spec,
    beta: c.beta,
    epsilon: c.epsilon,
    epsilonHigh: c.epsilon_high ?? undefined,
    useOld: !!c.old_logprobs,
  });
  const session = await createSession(graph, { device: options.device });
  const out = await session.run(feeds);
  await session.release();
  const result = new Map<string, { shape: number[]; data: Float64Array }>();
  result.set("loss", { shape: [1], data: Float64Array.from(out.loss.data as Float32Array) });
  const lp = shiftFromNext(out.logprobs.data as Float32Array, B);
  for (let i = 0; i < lp.length; i++) if (!am[i] || i % T === 0) lp[i] = 0;
  result.set("logprobs", { shape: [B, T], data: lp });
  for (const name of lora.keys()) {
    const g = out[`grad.${name}`];
    result.set(name, { shape: [...g.dims], data: Float64Array.from(g.data as Float32Array) });
  }
  return result;
}
