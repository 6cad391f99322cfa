/**
 * `deno task bench [--json PATH] [--repeat 5] [--settle 60] [--device cpu|cuda|auto] [--small] [--no-peers]
 * [--no-step] [--profile] [--dir SCRATCH]`
 * `deno task bench --scale [--only NAME,…] [--json PATH]`: the scale table (`scale.ts`), one process per model.
 *
 * Times one GRPO training step (reference forward, policy forward + backward, AdamW) and sampled decoding on a
 * random model of the SmolLM2-135M shape, next to eager PyTorch (the oracle's `bench` / `bench-generate`) and
 * transformers.js `generate()` on the same weights, and reports the distance to this machine's limits
 * (measured ORT MatMul peak and memory bandwidth). Decoding runs four ways, interleaved per round
 * (`rounds.ts`): the contrib-op graph rollouts use, the standard-op graph (same-run A/B), and int8 / int4 base
 * weights; each reports its median over `--repeat` rounds (at least 5) with the min–max, flagged when the
 * spread exceeds ±15 %. One full `math_hard` step on the embedded model is timed per phase (`--no-step`
 * skips it) in a temporary folder. Before starting, the bench waits up to `--settle` seconds for other
 * processes to leave the cores; "busy" means other processes used the CPU during the run (`machine.ts`).
 * Scratch (models, cases) goes to `scratch.ts`'s folder, never under `outputs/`.
 * @module
 */
import { join } from "node:path";
import { prepareWorkload, SMOL135M, WORK } from "./workload.ts";
import { matmulPeakGflops, memoryBandwidthGbs, peakRssBytes } from "./limits.ts";
import { timeTransformersJs } from "./peers.ts";
import { formatProfile, summarizeProfile } from "./profile.ts";
import { scaleMain } from "./scale.ts";
import { CausalLM } from "../lib/model/mod.ts";
import { parseFlags, runMain, UserError, writeJsonAtomic } from "../lib/util/mod.ts";
import type { Device } from "../lib/onnx/mod.ts";
import { machineVerdict, readCpu, waitForQuiet } from "./machine.ts";
import { timeMathHardStep } from "./grpo_step.ts";
import { explainUnstable, formatStats, type RoundStats, timeDecode, timeTrainStep } from "./rounds.ts";
import { benchScratchDir, legacyBenchFolder, withTempDir } from "./scratch.ts";

const ORACLE = new URL("../../shared/oracle/grpo_reference.py", import.meta.url).pathname;

/** Fewest timed rounds per variant. */
const MIN_ROUNDS = 5;

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
    repeat: { type: "string", default: String(MIN_ROUNDS) },
    settle: { type: "string", default: "60" },
    device: { type: "string", default: "cpu" },
    threads: { type: "string", default: "2" },
    dir: { type: "string" },
    small: { type: "boolean", default: false },
    "no-peers": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    scale: { type: "boolean", default: false },
    only: { type: "string" },
    "scale-one": { type: "string" },
    "no-step": { type: "boolean", default: false },
  });
  const repeat = Number(values.repeat), threads = Number(values.threads), settleS = Number(values.settle);
  if (!(repeat >= 1)) throw new UserError(`--repeat must be ≥ 1, got "${values.repeat}"`);
  if (!(settleS >= 0)) throw new UserError(`--settle must be ≥ 0 seconds, got "${values.settle}"`);
  const scratch = benchScratchDir(values.dir);
  const legacy = legacyBenchFolder(Deno.cwd());
  if (legacy && !values["scale-one"]) {
    console.error(
      `bench: note: ${legacy} is left over from an older bench (it makes \`deno task report\` fail); delete it`,
    );
  }
  if (values.scale || values["scale-one"]) {
    Deno.exitCode = await scaleMain({
      dir: join(scratch, "scale"),
      threads,
      steps: Math.min(repeat, 2),
      only: values.only,
      one: values["scale-one"],
      json: values.json,
      settleS,
    });
    return;
  }
  if (repeat < MIN_ROUNDS) console.error(`bench: --repeat ${repeat} < ${MIN_ROUNDS}: medians of few rounds`);
  const settle = await waitForQuiet(settleS);
  console.error(
    `bench: waited ${settle.waitedS.toFixed(0)} s for the machine to settle (others ${
      settle.share === null ? "n/a" : (100 * settle.share).toFixed(0) + "%"
    } of the CPU in the last second)`,
  );
  const cpuStart = readCpu();
  const preset = values.small
    ? { ...SMOL135M, num_hidden_layers: 2, vocab_size: 4096 } // a quick smoke run of the same code
    : SMOL135M;
  const dir = join(scratch, values.small ? "small" : "smol135m");
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
  const trainTimes = await timeTrainStep(model, { casePath, rounds: repeat });
  const train = trainTimes.stats.median;
  const rssTrain = peakRssBytes();
  console.error("bench: decoding");
  const decodes = await timeDecode(model, repeat);
  const decode = decodes.fast.stats.median;
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
    ? torchPeer(
      ["bench-generate", "--model", modelDir, "--batch", "8", "--prompt", "64", "--new", "128"].concat(
        ["--threads", String(threads)],
      ),
      /([\d.]+) tokens\/s/,
    )
    : null;
  const tfjs = peers ? await timeTransformersJs(modelDir, { threads, dir: join(dir, "tfjs") }) : null;
  let split: Awaited<ReturnType<typeof timeMathHardStep>> | null = null;
  if (!values["no-step"]) {
    console.error("bench: one math_hard step on the embedded model (in a temporary folder)");
    split = await withTempDir("grpo-bench-", (tmp) => timeMathHardStep(join(tmp, "math_hard"), { threads }));
  }
  const machine = machineVerdict({ start: cpuStart, end: readCpu() }, settle);
  const tokens = WORK.batch * (WORK.prompt + WORK.completion);
  const mfu = trainFlops(model.config, tokens, WORK.prompt + WORK.completion) / train / 1e9 / peak;
  const weightBytes = [...model.weights.values()].reduce((a, w) => a + w.data.length * 4, 0);
  const decodeLimit = (WORK.batch * bw * 1e9) / weightBytes;
  const spreadOf = (s: RoundStats) => ({
    median: s.median,
    min: s.min,
    max: s.max,
    spread: s.spread,
    unstable: s.unstable,
    rounds: s.rounds,
  });
  const unstable = [
    ...(trainTimes.stats.unstable ? ["train_step"] : []),
    ...Object.entries(decodes).filter(([, t]) => t.stats.unstable).map(([k]) => `decode_${k}`),
  ];
  const result = {
    machine_busy: machine.busy,
    machine_busy_reasons: machine.reasons,
    machine_other_cpu_share: machine.otherShare,
    machine_other_cpu_share_before: machine.otherShareBefore,
    machine_settle_wait_s: machine.settledAfterS,
    rounds: repeat,
    unstable,
    train_step_s: train,
    train_step: { ...spreadOf(trainTimes.stats), contexts: trainTimes.contexts },
    first_train_step_s: trainTimes.first,
    torch_train_step_s: torchTrain,
    decode_tokens_per_s: decode,
    decode_standard_graph_tokens_per_s: decodes.standard.stats.median,
    decode_int8_tokens_per_s: decodes.int8.stats.median,
    decode_int4_tokens_per_s: decodes.int4.stats.median,
    decode: Object.fromEntries(
      Object.entries(decodes).map(([k, t]) => [k, { ...spreadOf(t.stats), contexts: t.contexts }]),
    ),
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
      formatStats(trainTimes.stats, 2),
      torchTrain?.toFixed(2) ?? "—",
      "—",
      ratio(train, torchTrain) + " of PyTorch's time (target ≤ 0.35×)",
    ],
    [
      "decode (new tokens/s)",
      formatStats(decodes.fast.stats),
      torchDecode?.toFixed(1) ?? "—",
      tfjs?.toFixed(1) ?? "—",
      `${ratio(decode, torchDecode)} PyTorch (≥ 5×), ${ratio(decode, tfjs)} transformers.js (≥ 2×)`,
    ],
    [
      "decode, standard-op graph (A/B)",
      formatStats(decodes.standard.stats),
      "—",
      "—",
      `fast graph ${ratio(decode, decodes.standard.stats.median)} the standard one`,
    ],
    [
      "decode, int8 base weights",
      formatStats(decodes.int8.stats),
      "—",
      "—",
      `${ratio(decodes.int8.stats.median, tfjs)} transformers.js`,
    ],
    [
      "decode, int4 base weights",
      formatStats(decodes.int4.stats),
      "—",
      "—",
      `${ratio(decodes.int4.stats.median, tfjs)} transformers.js (≥ 4×)`,
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
  console.log(
    `\n${repeat} rounds per variant: median (min–max)\n\n| measure | grpo-ts | PyTorch eager | transformers.js | ratio |\n|---|---|---|---|---|`,
  );
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  if (trainTimes.stats.unstable) console.log(`UNSTABLE ${explainUnstable("train step (s)", trainTimes)}`);
  for (const [k, t] of Object.entries(decodes)) {
    if (t.stats.unstable) console.log(`UNSTABLE ${explainUnstable(`decode ${k} (tokens/s)`, t)}`);
  }
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
  const share = machine.otherShare === null ? "n/a" : `${(100 * machine.otherShare).toFixed(1)}%`;
  console.log(
    machine.busy
      ? `\nMACHINE BUSY: ${
        machine.reasons.join("; ")
      }. These timings are from a loaded machine: compare them only with each other (same-run A/B), never with quiet-machine numbers or targets.`
      : `\nMachine quiet: other processes used ${share} of the CPU during the run (waited ${
        machine.settledAfterS.toFixed(0)
      } s to settle before it).`,
  );
  if (values.json) await writeJsonAtomic(values.json, result);
});
