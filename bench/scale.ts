/**
 * The scale table (`deno task bench --scale`): one GRPO step and sampled decoding on random-weight models of
 * real shapes, from SmolLM2-135M to Llama-3.2-1B, on the study's batch (8 sequences × (128 prompt + 256
 * completion) tokens, LoRA r = 16 on all seven projections, β = 0.04). Each model runs in its own process, so
 * its peak RSS (VmHWM) is its own.
 * @module
 */
import { grpoStep } from "../lib/grpo/mod.ts";
import { join } from "node:path";
import { type RandomModelConfig, writeRandomModel } from "../lib/model/testing.ts";
import { CausalLM, estimateGrpoMemory, initLora, LORA_TARGETS } from "../lib/model/mod.ts";
import { Rng, UserError, writeJsonAtomic } from "../lib/util/mod.ts";
import { peakRssBytes } from "./limits.ts";
import { machineVerdict, readCpu, waitForQuiet } from "./machine.ts";
import { SMOL135M } from "./workload.ts";

/** Resets the kernel's peak-RSS counter (VmHWM) of this process (`clear_refs` 5); false where unsupported. */
function resetPeakRss(): boolean {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

/** One shape of the table (HF `config.json` fields). */
export interface ScaleShape {
  name: string;
  config: RandomModelConfig & Record<string, unknown>;
  /** The real model's `config.json` fields the random weights do not depend on (context length, RoPE base). */
  real: { max_position_embeddings: number; rope_theta: number };
  /** Run with full per-layer checkpointing (TRL's `gradient_checkpointing`). */
  checkpointing: boolean;
}

/** The shapes, smallest first. */
export const SCALE_SHAPES: ScaleShape[] = [
  {
    name: "SmolLM2-135M",
    real: { max_position_embeddings: 8192, rope_theta: 100000 },
    config: { ...SMOL135M },
    checkpointing: false,
  },
  {
    name: "SmolLM2-360M",
    real: { max_position_embeddings: 8192, rope_theta: 100000 },
    config: {
      vocab_size: 49152,
      hidden_size: 960,
      intermediate_size: 2560,
      num_hidden_layers: 32,
      num_attention_heads: 15,
      num_key_value_heads: 5,
      tie_word_embeddings: true,
    },
    checkpointing: false,
  },
  {
    name: "Qwen2.5-0.5B",
    real: { max_position_embeddings: 32768, rope_theta: 1000000 },
    config: {
      model_type: "qwen2",
      vocab_size: 151936,
      hidden_size: 896,
      intermediate_size: 4864,
      num_hidden_layers: 24,
      num_attention_heads: 14,
      num_key_value_heads: 2,
      tie_word_embeddings: true,
    },
    checkpointing: false,
  },
  {
    name: "Qwen3-0.6B",
    real: { max_position_embeddings: 40960, rope_theta: 1000000 },
    config: {
      model_type: "qwen3",
      vocab_size: 151936,
      hidden_size: 1024,
      intermediate_size: 3072,
      num_hidden_layers: 28,
      num_attention_heads: 16,
      num_key_value_heads: 8,
      head_dim: 128,
      tie_word_embeddings: true,
    },
    checkpointing: false,
  },
  {
    name: "Llama-3.2-1B",
    // Llama 3.2's rope_scaling (llama3, factor 32) is left out: speed and memory do not depend on the RoPE
    // frequencies, and the contrib-op decode graph does not take scaled RoPE yet (it would fall back)
    real: { max_position_embeddings: 131072, rope_theta: 500000 },
    config: {
      vocab_size: 128256,
      hidden_size: 2048,
      intermediate_size: 8192,
      num_hidden_layers: 16,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      tie_word_embeddings: true,
    },
    checkpointing: true,
  },
];

/** The batch of the table. */
export const SCALE_WORK = { batch: 8, prompt: 128, completion: 256, rank: 16, alpha: 32, beta: 0.04 };

/**
 * Writes the random model of `shape` under `dir` (once) and returns its folder; its `config.json` always
 * carries the real model's context length and RoPE settings (`shape.real`).
 */
export async function ensureScaleModel(shape: ScaleShape, dir: string): Promise<string> {
  const modelDir = join(dir, shape.name);
  if (!(await Deno.stat(join(modelDir, "model.safetensors")).then(() => true, () => false))) {
    console.error(`scale: writing a random ${shape.name} into ${modelDir}`);
    await writeRandomModel(modelDir, { ...shape.config, seed: 0 });
  }
  const cfgPath = join(modelDir, "config.json");
  const raw = JSON.parse(await Deno.readTextFile(cfgPath));
  const patched = { ...raw, ...shape.real };
  if (JSON.stringify(patched) !== JSON.stringify(raw)) await writeJsonAtomic(cfgPath, patched);
  return modelDir;
}

/** One row of `scale` in `--json`. */
export interface ScaleRow {
  name: string;
  params: number;
  gradient_checkpointing: boolean;
  load_s: number;
  /** Peak RSS from loading through the GRPO steps, decoding excluded (its session is released first). */
  peak_rss_bytes: number;
  /** Peak RSS while loading and decoding. */
  decode_peak_rss_bytes: number;
  /** The on-paper peak (`lib/model/memory.ts`), with the host's copy of the weights. */
  estimate_bytes: number;
  train_step_s: number;
  decode_tokens_per_s: number;
}

/**
 * Runs one shape in this process: writes the random model (once), loads it, decodes 8 × `completion` new
 * tokens after 128-token prompts, then times GRPO steps (the first builds the session; the last is reported).
 */
export async function runScaleShape(
  nameOrShape: string | ScaleShape,
  options: { dir: string; threads: number; steps: number; checkpointing?: boolean },
): Promise<ScaleRow> {
  const shape = typeof nameOrShape === "string"
    ? SCALE_SHAPES.find((s) => s.name === nameOrShape)
    : nameOrShape;
  if (!shape) {
    throw new UserError(
      `unknown scale shape "${nameOrShape}" (one of ${SCALE_SHAPES.map((s) => s.name).join(", ")})`,
    );
  }
  const name = shape.name;
  const modelDir = await ensureScaleModel(shape, options.dir);
  resetPeakRss();
  const checkpointing = options.checkpointing ?? shape.checkpointing;
  const t0 = performance.now();
  const model = await CausalLM.load(modelDir, {
    device: "cpu",
    threads: options.threads,
    tokenizer: false,
    gradientCheckpointing: checkpointing,
  });
  const loadS = (performance.now() - t0) / 1000;
  const params = [...model.weights.values()].reduce((a, w) => a + w.data.length, 0);
  const { batch: B, prompt: P, completion: C } = SCALE_WORK;
  const rng = new Rng(1);
  const V = model.config.vocabSize;
  const prompts = Array.from({ length: B }, () => Array.from({ length: P }, () => 2 + rng.int(V - 2)));
  const td = performance.now();
  const gen = await model.generate(prompts, { maxNewTokens: C, rng, stopAtEos: false });
  const decodeRate = gen.tokens.reduce((a, t) => a + t.length, 0) / ((performance.now() - td) / 1000);
  console.error(`  ${name}: decode ${decodeRate.toFixed(1)} tokens/s`);
  await model.release(); // the decode session's copy of the weights goes before training
  const decodePeak = peakRssBytes();
  resetPeakRss();
  const T = P + C;
  const ids: number[] = [], mask: number[] = [], weights: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      ids.push(t < P ? prompts[b][t] : gen.tokens[b][t - P]);
      mask.push(1);
      weights.push(t >= P - 1 && t < T - 1 ? 1 / (B * C) : 0); // next-token alignment: position t scores t+1
    }
  }
  const spec = { r: SCALE_WORK.rank, alpha: SCALE_WORK.alpha, targets: [...LORA_TARGETS] };
  const adapter = initLora(model.config, spec, { seed: 2, baseModel: modelDir });
  for (const t of adapter.tensors.values()) {
    for (let i = 0; i < t.data.length; i++) t.data[i] = 0.01 * rng.normal();
  }
  const advantages = Array.from({ length: B }, () => rng.normal());
  let stepS = 0;
  for (let i = 0; i < options.steps; i++) {
    const ts = performance.now();
    await grpoStep(model, {
      batch: { ids, mask, batch: B, length: T },
      lora: adapter,
      tokenWeights: weights,
      advantages,
      beta: SCALE_WORK.beta,
      epsilon: 0.2,
      epsilonHigh: 0.28,
    });
    stepS = (performance.now() - ts) / 1000;
    console.error(
      `  ${name}: train step ${i}${i === 0 ? " (builds the session)" : ""}: ${stepS.toFixed(1)} s`,
    );
  }
  await model.release();
  return {
    name,
    params,
    gradient_checkpointing: checkpointing,
    load_s: loadS,
    peak_rss_bytes: peakRssBytes(),
    decode_peak_rss_bytes: decodePeak,
    estimate_bytes: estimateGrpoMemory(model.config, {
      batch: B,
      seqLen: T,
      scored: C,
      rank: SCALE_WORK.rank,
      weightBytes: 4,
      activationBytes: 4,
      checkpointing,
      extraWeightCopies: 1,
      // training sessions pre-pack below 2 GB of weights (`CausalLM`): ≈ 1.2 packed copies, measured
      packedWeightCopies: model.weightBytes() < 2 * 2 ** 30 ? 1.2 : 0,
    }).total,
    train_step_s: stepS,
    decode_tokens_per_s: decodeRate,
  };
}

/** The markdown table of `rows`. */
export function formatScale(rows: ScaleRow[], pending: string[]): string {
  const lines = [
    "| model | params | checkpointing | load (s) | peak RSS, train (GB) | on paper (GB) | peak RSS, decode (GB) | GRPO step (s) | decode (tokens/s) |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const gb = (b: number) => (b / 1e9).toFixed(2);
    const mode = r.gradient_checkpointing ? "full" : "selective";
    const cells = [
      r.name,
      `${(r.params / 1e6).toFixed(0)} M`,
      mode,
      r.load_s.toFixed(1),
      gb(r.peak_rss_bytes),
    ];
    cells.push(r.estimate_bytes ? gb(r.estimate_bytes) : "—");
    cells.push(gb(r.decode_peak_rss_bytes), r.train_step_s.toFixed(1), r.decode_tokens_per_s.toFixed(1));
    lines.push(`| ${cells.join(" | ")} |`);
  }
  for (const p of pending) lines.push(`| ${p} | pending | — | — | — | — | — | — | — |`);
  return lines.join("\n");
}

/** Shapes listed as pending (none: Qwen3's q/k norms are in the decoder). */
export const PENDING_SHAPES: string[] = [];

/** A row that did not run, with its one-line cause. */
export interface ScaleFailure {
  name: string;
  error: string;
}

/** {@linkcode runScaleShape}, with a failure returned as its one-line cause instead of thrown. */
export async function runScaleRow(
  nameOrShape: string | ScaleShape,
  options: { dir: string; threads: number; steps: number },
): Promise<ScaleRow | ScaleFailure> {
  const name = typeof nameOrShape === "string" ? nameOrShape : nameOrShape.name;
  try {
    return await runScaleShape(nameOrShape, options);
  } catch (e) {
    return { name, error: String((e as Error)?.message ?? e).split("\n")[0] };
  }
}

/**
 * Runs every shape (or those in `only`), each in a child process (`bench.ts --scale-one`); returns the rows
 * and the rows that failed, each with its cause in one line.
 */
export async function runScale(
  options: { dir: string; threads: number; steps: number; only?: string[] },
): Promise<{ rows: ScaleRow[]; failed: ScaleFailure[] }> {
  const rows: ScaleRow[] = [], failed: ScaleFailure[] = [];
  for (const shape of SCALE_SHAPES) {
    if (options.only && !options.only.includes(shape.name)) continue;
    await ensureScaleModel(shape, options.dir); // here, so the child's peak RSS starts at loading
    const out = join(options.dir, `${shape.name}.json`);
    await Deno.remove(out).catch(() => {});
    const bench = new URL("./bench.ts", import.meta.url).pathname;
    const args = ["run", "-A", bench, "--scale-one", shape.name, "--json", out, "--dir", options.dir];
    args.push("--threads", String(options.threads), "--repeat", String(options.steps));
    console.error(`scale: ${shape.name}`);
    const r = await new Deno.Command(Deno.execPath(), { args, stdout: "inherit", stderr: "inherit" })
      .output();
    const written = await Deno.readTextFile(out).then((t) => JSON.parse(t), () => null);
    if (r.success && written && !written.error) rows.push(written as ScaleRow);
    else {
      const why = written?.error ??
        (r.signal === "SIGKILL" || r.code === 137 ? "killed (out of memory?)" : `exit code ${r.code}`);
      failed.push({ name: shape.name, error: why });
    }
  }
  return { rows, failed };
}

/**
 * `--scale` and `--scale-one`: runs the table (or one row, in this process) and returns the exit code: 1 when
 * a row failed (each failure printed as one line naming its cause), 0 otherwise.
 */
export async function scaleMain(
  o: {
    dir: string;
    threads: number;
    steps: number;
    only?: string;
    one?: string;
    json?: string;
    settleS?: number;
  },
): Promise<number> {
  await Deno.mkdir(o.dir, { recursive: true });
  if (o.one) {
    // one row of the scale table, in its own process (its own peak RSS)
    const row = await runScaleRow(o.one, { dir: o.dir, threads: o.threads, steps: o.steps });
    if (o.json) await writeJsonAtomic(o.json, row);
    else if ("error" in row) console.error(`scale: ${row.name} failed: ${row.error}`);
    return "error" in row ? 1 : 0;
  }
  const only = o.only?.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((n) => !SCALE_SHAPES.some((s) => s.name === n)) ?? [];
  if (unknown.length) {
    throw new UserError(
      `--only: unknown shape(s) ${unknown.join(", ")} (one of ${SCALE_SHAPES.map((s) => s.name).join(", ")})`,
    );
  }
  const settle = await waitForQuiet(o.settleS ?? 60);
  console.error(`scale: waited ${settle.waitedS.toFixed(0)} s for the machine to settle`);
  const start = readCpu();
  const { rows, failed } = await runScale({ dir: o.dir, threads: o.threads, steps: o.steps, only });
  const machine = machineVerdict({ start, end: readCpu() }, settle);
  const pending = only ? PENDING_SHAPES.filter((p) => only.includes(p)) : PENDING_SHAPES;
  console.log(`\n${formatScale(rows, pending)}`);
  for (const f of failed) console.log(`scale: ${f.name} failed: ${f.error}`);
  console.log(
    machine.busy
      ? `\nMACHINE BUSY: ${machine.reasons.join("; ")}; the times are not quiet-machine numbers (RSS is).`
      : `\nMachine quiet: other processes used ${
        (100 * (machine.otherShare ?? 0)).toFixed(1)
      }% of the CPU during the run.`,
  );
  if (o.json) {
    await writeJsonAtomic(o.json, {
      machine_busy: machine.busy,
      machine_busy_reasons: machine.reasons,
      machine_other_cpu_share: machine.otherShare,
      machine_settle_wait_s: machine.settledAfterS,
      scale: rows,
      failed,
      pending,
    });
  }
  return failed.length ? 1 : 0;
}
