/**
 * `deno task bench [--json PATH] [--repeat 3] [--device cpu|cuda|auto] [--small] [--no-peers] [--no-step] [--profile]`
 * `deno task bench --scale [--only NAME,…] [--json PATH]`: the scale table (`scale.ts`), one process per model.
 *
 * Times one GRPO training step (reference forward, policy forward + backward, AdamW) and sampled decoding on a
 * random model of the SmolLM2-135M shape, next to eager PyTorch (the oracle's `bench` / `bench-generate`) and
 * transformers.js `generate()` on the same weights, and reports the distance to this machine's limits
 * (measured ORT MatMul peak and memory bandwidth). Decoding runs four ways, interleaved per round: the
 * contrib-op graph rollouts use, the standard-op graph (same-run A/B), and int8 / int4 base weights. One
 * full `math_hard` step on the embedded model is timed per phase (`--no-step` skips it). The machine's load
 * is read before and after (`machine.ts`); a busy machine is said so in the output and in `--json`.
 * @module
 */
import { join } from "node:path";
import { prepareWorkload, SMOL135M, WORK } from "./workload.ts";
import { matmulPeakGflops, memoryBandwidthGbs, peakRssBytes } from "./limits.ts";
import { timeTransformersJs } from "./peers.ts";
import { formatProfile, summarizeProfile } from "./profile.ts";
import { formatScale, PENDING_SHAPES, runScale, runScaleShape } from "./scale.ts";
import {
  adamwInit,
  adamwStep,
  CausalLM,
  clipGradNorm,
  type LoraAdapter,
  readSafetensors,
  type RolloutQuantization,
} from "../lib/model/mod.ts";
import { grpoStep, readOracleCase, shiftToNext, tokenWeights } from "../lib/grpo/mod.ts";
import { median, parseFlags, Rng, runMain, UserError, writeJsonAtomic } from "../lib/util/mod.ts";
import type { Device } from "../lib/onnx/mod.ts";
import { machineVerdict, readLoad } from "./machine.ts";
import { timeMathHardStep } from "./grpo_step.ts";

const ORACLE = new URL("../../shared/oracle/grpo_reference.py", import.meta.url).pathname;

/** Seconds of one GRPO step: median over `repeat` runs after one warm-up, and the first of them. */
async function timeTrainStep(
  model: CausalLM,
  casePath: string,
  repeat: number,
): Promise<{ median: number; first: number }> {
  const c = await readOracleCase(casePath);
  const read = await readSafetensors(casePath.replace(/\.json$/, ".lora.safetensors"));
  const lora: LoraAdapter = {
    spec: c.lora,
    baseModel: model.dir,
    tensors: new Map([...read].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }])),
  };
  const B = c.input_ids.length, T = c.input_ids[0].length;
  const batch = { ids: c.input_ids.flat(), mask: c.attention_mask.flat(), batch: B, length: T };
  const w = shiftToNext(
    tokenWeights(c.completion_mask.flat(), { batch: B, lossType: c.loss_type, maxCompletionLength: T }),
    B,
  );
  const state = adamwInit(lora.tensors);
  const times: number[] = [];
  for (let i = 0; i <= repeat; i++) {
    const t0 = performance.now();
    // no `ref`: the reference pass runs inside the GRPO graph (one session, one copy of the weights)
    const { grads } = await grpoStep(model, {
      batch,
      lora,
      tokenWeights: w,
      advantages: c.advantages,
      beta: c.beta,
      epsilon: c.epsilon,
      epsilonHigh: c.epsilon_high ?? c.epsilon,
    });
    clipGradNorm(grads, 1);
    adamwStep(lora.tensors, grads, { lr: 1e-5, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, state });
    const dt = (performance.now() - t0) / 1000;
    if (i > 0) times.push(dt);
    console.error(`  train step ${i === 0 ? "(warm-up)" : i}: ${dt.toFixed(2)} s`);
  }
  return { median: median(times), first: times[0] };
}

/** One decoding setup: the graph and the base weights' precision. */
interface DecodeVariant {
  name: string;
  graph: "fast" | "standard";
  quantization: RolloutQuantization;
}

const DECODE_VARIANTS: DecodeVariant[] = [
  { name: "fast", graph: "fast", quantization: "none" },
  { name: "standard", graph: "standard", quantization: "none" },
  { name: "int8", graph: "fast", quantization: "int8" },
  { name: "int4", graph: "fast", quantization: "int4" },
];

/**
 * New tokens per second for 8 × 128 sampled tokens after 64-token prompts, per variant: medians over
 * `repeat` rounds after one warm-up (which builds the session; its wall time is reported), the variants
 * interleaved within each round so a change in the machine's load hits them alike.
 */
async function timeDecode(
  model: CausalLM,
  repeat: number,
): Promise<Record<string, { rate: number; warmupS: number }>> {
  const rng = new Rng(0);
  const prompts = Array.from(
    { length: WORK.batch },
    () => Array.from({ length: WORK.prompt }, () => 2 + rng.int(model.config.vocabSize - 2)),
  );
  const rates = new Map<string, number[]>(), warm = new Map<string, number>();
  for (let i = 0; i <= repeat; i++) {
    for (const v of DECODE_VARIANTS) {
      const t0 = performance.now();
      const r = await model.generate(prompts, {
        maxNewTokens: WORK.completion,
        rng,
        stopAtEos: false,
        graph: v.graph,
        quantization: v.quantization,
      });
      const n = r.tokens.reduce((a, t) => a + t.length, 0);
      const dt = (performance.now() - t0) / 1000;
      if (i === 0) warm.set(v.name, dt);
      else rates.set(v.name, [...(rates.get(v.name) ?? []), n / dt]);
      console.error(
        `  decode ${v.name} ${i === 0 ? "(warm-up, builds the session)" : i}: ${
          (n / dt).toFixed(1)
        } tokens/s`,
      );
    }
  }
  return Object.fromEntries(
    DECODE_VARIANTS.map((v) => [v.name, { rate: median(rates.get(v.name)!), warmupS: warm.get(v.name)! }]),
  );
}

function torchPeer(args: string[], pattern: RegExp): number | null {
  try {
    const r = new Deno.Command("/usr/bin/python3", {
      args: [ORACLE, ...args],
      stdout: "piped",
      stderr: "piped",
    })
      .outputSync();
    const out = new TextDecoder().decode(r.stdout);
    const m = out.match(pattern);
    if (!r.success || !m) {
      console.error(`  PyTorch peer failed: ${new TextDecoder().decode(r.stderr).trim().split("\n").pop()}`);
      return null;
    }
    return Number(m[1]);
  } catch {
    console.error("  PyTorch peer unavailable (/usr/bin/python3 with torch not found)");
    return null;
  }
}

/** Training FLOPs of one step: three forward-equivalents (reference fwd, policy fwd, policy bwd to activations). */
function trainFlops(cfg: CausalLM["config"], tokens: number, seq: number): number {
  const H = cfg.hiddenSize, I = cfg.intermediateSize, hd = cfg.headDim;
  const perLayer = H * cfg.numHeads * hd * 2 + H * cfg.numKvHeads * hd * 2 + 3 * H * I;
  const attn = 2 * 2 * seq * cfg.numHeads * hd; // scores + weighted sum, per token per layer (full T)
  const fwd = tokens * (2 * perLayer * cfg.numLayers + attn * cfg.numLayers + 2 * H * cfg.vocabSize);
  return 3 * fwd;
}

await runMain(async () => {
  const { values } = parseFlags(Deno.args, {
    json: { type: "string" },
    repeat: { type: "string", default: "3" },
    device: { type: "string", default: "cpu" },
    threads: { type: "string", default: "2" },
    dir: { type: "string", default: "outputs/bench" },
    small: { type: "boolean", default: false },
    "no-peers": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    scale: { type: "boolean", default: false },
    only: { type: "string" },
    "scale-one": { type: "string" },
    "no-step": { type: "boolean", default: false },
  });
  const loadBefore = readLoad();
  const repeat = Number(values.repeat), threads = Number(values.threads);
  if (!(repeat >= 1)) throw new UserError(`--repeat must be ≥ 1, got "${values.repeat}"`);
  if (values["scale-one"]) {
    // one row of the scale table, in its own process (its own peak RSS)
    const row = await runScaleShape(values["scale-one"], { dir: values.dir!, threads, steps: repeat });
    if (values.json) await writeJsonAtomic(values.json, row);
    return;
  }
  if (values.scale) {
    const dir = join(values.dir!, "scale");
    await Deno.mkdir(dir, { recursive: true });
    const only = values.only?.split(",").map((s) => s.trim());
    const rows = await runScale({ dir, threads, steps: Math.min(repeat, 2), only });
    const pending = only ? PENDING_SHAPES.filter((p) => only.includes(p)) : PENDING_SHAPES;
    console.log(`\n${formatScale(rows, pending)}`);
    if (values.json) {
      await writeJsonAtomic(values.json, {
        scale: rows.map(({ name, params, peak_rss_bytes, train_step_s, decode_tokens_per_s, ...rest }) => ({
          name,
          params,
          peak_rss_bytes,
          train_step_s,
          decode_tokens_per_s,
          ...rest,
        })),
        pending,
      });
    }
    return;
  }
  const preset = values.small
    ? { ...SMOL135M, num_hidden_layers: 2, vocab_size: 4096 } // a quick smoke run of the same code
    : SMOL135M;
  const dir = join(values.dir!, values.small ? "small" : "smol135m");
  console.error(`bench: preparing ${values.small ? "a 2-layer" : "the SmolLM2-135M-shaped"} model in ${dir}`);
  const { modelDir, casePath } = await prepareWorkload(dir, preset);
  const profilePrefix = values.profile ? join(dir, "profile") : undefined;
  const model = await CausalLM.load(modelDir, {
    device: values.device as Device,
    threads,
    tokenizer: false,
    profilePrefix,
  });
  console.error("bench: GRPO training step");
  const trainTimes = await timeTrainStep(model, casePath, repeat);
  const train = trainTimes.median;
  const rssTrain = peakRssBytes();
  console.error("bench: decoding");
  const decodes = await timeDecode(model, repeat);
  const decode = decodes.fast.rate;
  if (profilePrefix) {
    for (const file of await model.endProfiling()) {
      console.log(
        `\nORT profile ${file} (warm-up included):\n${formatProfile(await summarizeProfile(file))}`,
      );
    }
  }
  await model.release();
  const peers = !values["no-peers"];
  console.error("bench: machine limits");
  const peak = await matmulPeakGflops(threads);
  const bw = await memoryBandwidthGbs(threads);
  const torchTrain = peers
    ? torchPeer([
      "bench",
      "--model",
      modelDir,
      "--case",
      casePath,
      "--threads",
      String(threads),
      "--repeat",
      String(repeat),
    ], /median ([\d.]+) s/)
    : null;
  const torchDecode = peers
    ? torchPeer([
      "bench-generate",
      "--model",
      modelDir,
      "--batch",
      "8",
      "--prompt",
      "64",
      "--new",
      "128",
      "--threads",
      String(threads),
    ], /([\d.]+) tokens\/s/)
    : null;
  const tfjs = peers ? await timeTransformersJs(modelDir, { threads, dir: join(dir, "tfjs") }) : null;
  let split: Awaited<ReturnType<typeof timeMathHardStep>> | null = null;
  if (!values["no-step"]) {
    console.error("bench: one math_hard step on the embedded model");
    split = await timeMathHardStep(join(dir, "math_hard"), { threads });
  }
  const machine = machineVerdict(loadBefore, readLoad());
  const tokens = WORK.batch * (WORK.prompt + WORK.completion);
  const mfu = trainFlops(model.config, tokens, WORK.prompt + WORK.completion) / train / 1e9 / peak;
  const weightBytes = [...model.weights.values()].reduce((a, w) => a + w.data.length * 4, 0);
  const decodeLimit = (WORK.batch * bw * 1e9) / weightBytes;
  const result = {
    machine_busy: machine.busy,
    machine_busy_reasons: machine.reasons,
    machine_load: { before: machine.before, after: machine.after, cpu_stall_share: machine.stallShare },
    train_step_s: train,
    first_train_step_s: trainTimes.first,
    torch_train_step_s: torchTrain,
    decode_tokens_per_s: decode,
    decode_standard_graph_tokens_per_s: decodes.standard.rate,
    decode_int8_tokens_per_s: decodes.int8.rate,
    decode_int4_tokens_per_s: decodes.int4.rate,
    decode_session_build_s: Object.fromEntries(Object.entries(decodes).map(([k, v]) => [k, v.warmupS])),
    torch_decode_tokens_per_s: torchDecode,
    transformersjs_decode_tokens_per_s: tfjs,
    peak_rss_bytes: rssTrain,
    matmul_peak_gflops: peak,
    train_mfu: mfu,
    memory_bandwidth_gbs: bw,
    decode_fraction_of_bandwidth_limit: decode / decodeLimit,
    math_hard_step: split ? split[split.length - 1] : null,
    math_hard_first_step: split ? split[0] : null,
  };
  const ratio = (a: number | null, b: number | null) => (a && b ? (a / b).toFixed(2) + "×" : "—");
  const rows = [
    [
      "GRPO train step (s)",
      train.toFixed(2),
      torchTrain?.toFixed(2) ?? "—",
      "—",
      ratio(train, torchTrain) + " of PyTorch's time (target ≤ 0.35×)",
    ],
    [
      "decode (new tokens/s)",
      decode.toFixed(1),
      torchDecode?.toFixed(1) ?? "—",
      tfjs?.toFixed(1) ?? "—",
      `${ratio(decode, torchDecode)} PyTorch (≥ 5×), ${ratio(decode, tfjs)} transformers.js (≥ 2×)`,
    ],
    [
      "decode, standard-op graph (A/B)",
      decodes.standard.rate.toFixed(1),
      "—",
      "—",
      `fast graph ${ratio(decode, decodes.standard.rate)} the standard one`,
    ],
    [
      "decode, int8 base weights",
      decodes.int8.rate.toFixed(1),
      "—",
      "—",
      `${ratio(decodes.int8.rate, tfjs)} transformers.js`,
    ],
    [
      "decode, int4 base weights",
      decodes.int4.rate.toFixed(1),
      "—",
      "—",
      `${ratio(decodes.int4.rate, tfjs)} transformers.js (≥ 4×)`,
    ],
    [
      "first train step after warm-up (s)",
      trainTimes.first.toFixed(2),
      "—",
      "—",
      `${ratio(trainTimes.first, train)} the steady state (≤ 1.3×)`,
    ],
    ["peak RSS, train step (GB)", (rssTrain / 1e9).toFixed(2), "—", "—", "target ≤ 3 GB"],
  ];
  console.log(`\n| measure | grpo-ts | PyTorch eager | transformers.js | ratio |\n|---|---|---|---|---|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  console.log(
    `\nMachine: ORT MatMul peak ${peak.toFixed(1)} GFLOP/s, memory bandwidth ${
      bw.toFixed(1)
    } GB/s (${threads} threads).`,
  );
  console.log(
    `Training FLOP utilization ${(100 * mfu).toFixed(1)}% of that peak; decoding at ${
      (100 * result.decode_fraction_of_bandwidth_limit).toFixed(1)
    }% of the weight-bandwidth limit (${decodeLimit.toFixed(0)} tokens/s).`,
  );
  if (split) {
    const f = (x: { rollout_s: number; reward_s: number; train_s: number; eval_s: number; step_s: number }) =>
      `${x.step_s.toFixed(2)} s = rollout ${x.rollout_s.toFixed(2)} + reward ${
        x.reward_s.toFixed(2)
      } + train ${x.train_s.toFixed(2)} + eval ${x.eval_s.toFixed(2)}`;
    console.log(
      `math_hard on the embedded model: first step ${f(split[0])}; second step ${
        f(split[split.length - 1])
      }.`,
    );
  }
  console.log(
    machine.busy
      ? `\nMACHINE BUSY: ${
        machine.reasons.join("; ")
      }. These timings are from a loaded machine: compare them only with each other (same-run A/B), never with quiet-machine numbers or targets.`
      : `\nMachine quiet (load ${machine.before.load1.toFixed(2)} before, CPU stall ${
        machine.stallShare === null ? "n/a" : (100 * machine.stallShare).toFixed(1) + "%"
      } during the run).`,
  );
  if (values.json) await writeJsonAtomic(values.json, result);
});
