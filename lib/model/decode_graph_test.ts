import { CausalLM } from "./causal_lm.ts";
import { writeRandomModel } from "./testing.ts";
import { initLora, type LoraAdapter } from "./lora.ts";
import { dequantizeWeight, quantizeWeight } from "./quantize.ts";
import { fastDecodeUnsupported } from "./decode_graph.ts";
import { sampleFromProbs } from "./generate_fast.ts";
import { Rng } from "../util/mod.ts";
import { assert, assertEquals } from "../util/assert.ts";

const TINY = new URL("../../data/tiny", import.meta.url).pathname;

function perturbed(m: CausalLM, seed: number, size: number): LoraAdapter {
  const lora = initLora(m.config, { r: 4, alpha: 8, targets: ["q_proj", "v_proj", "o_proj", "down_proj"] }, {
    seed,
  });
  const rng = new Rng(seed);
  for (const [name, t] of lora.tensors) {
    if (name.endsWith("lora_B.weight")) {
      for (let i = 0; i < t.data.length; i++) t.data[i] = size * rng.normal();
    }
  }
  return lora;
}

/** Greedy tokens of the standard-op graph and of the fast graph, ragged prompts, no EOS stop. */
async function bothGraphs(
  m: CausalLM,
  prompts: number[][],
  n: number,
  lora: LoraAdapter | null,
  fastOptions: { mergeLora?: boolean; attention?: "gqa" | "cache-input" } = {},
) {
  const o = { maxNewTokens: n, temperature: 0, rng: new Rng(0), stopAtEos: false, lora };
  const standard = await m.generate(prompts, { ...o, graph: "standard", returnLogprobs: true });
  const fast = await m.generate(prompts, { ...o, graph: "fast", returnLogprobs: true, ...fastOptions });
  return { standard, fast };
}

function promptsFor(vocab: number, lengths: number[], seed: number): number[][] {
  const rng = new Rng(seed);
  return lengths.map((n) => Array.from({ length: n }, () => 2 + rng.int(vocab - 2)));
}

Deno.test("fast decode graph: the same greedy tokens as the standard graph on the tiny model (base, LoRA side path, LoRA merged, cache-input attention)", async () => {
  const m = await CausalLM.load(TINY, { device: "cpu", tokenizer: false, threads: 2 });
  try {
    assertEquals(fastDecodeUnsupported(m.config), null);
    const prompts = promptsFor(m.config.vocabSize, [7, 19, 3, 12], 1);
    const lora = perturbed(m, 5, 0.02);
    const variants = [
      [null, {}],
      [lora, {}],
      [lora, { mergeLora: true }],
      [null, { attention: "cache-input" }],
      [lora, { attention: "cache-input" }],
    ] as const;
    for (const [l, fastOptions] of variants) {
      const { standard, fast } = await bothGraphs(m, prompts, 40, l, fastOptions);
      assertEquals(fast.tokens, standard.tokens);
      standard.logprobs!.forEach((row, r) =>
        row.forEach((lp, k) => {
          const d = Math.abs(lp - fast.logprobs![r][k]);
          assert(d < 1e-3, `row ${r} token ${k}: log-prob ${fast.logprobs![r][k]} vs ${lp}`);
        })
      );
    }
  } finally {
    await m.release();
  }
});

Deno.test("fast decode graph: the same greedy tokens on a random SmolLM2-135M-shaped model (base, LoRA side path)", async () => {
  const dir = await Deno.makeTempDir();
  await writeRandomModel(dir, {
    vocab_size: 49152,
    hidden_size: 576,
    intermediate_size: 1536,
    num_hidden_layers: 30,
    num_attention_heads: 9,
    num_key_value_heads: 3,
    tie_word_embeddings: true,
    seed: 7,
  });
  const m = await CausalLM.load(dir, { device: "cpu", tokenizer: false, threads: 2 });
  try {
    const prompts = promptsFor(m.config.vocabSize, [9, 4, 16], 2);
    // base and the LoRA side path (merging is covered on the tiny model); one 135M session at a time
    const adapters = [null, perturbed(m, 3, 0.01)];
    const o = { maxNewTokens: 12, temperature: 0, rng: new Rng(0), stopAtEos: false };
    const standard = [];
    for (const lora of adapters) standard.push(await m.generate(prompts, { ...o, lora, graph: "standard" }));
    await m.release();
    for (const [i, lora] of adapters.entries()) {
      assertEquals((await m.generate(prompts, { ...o, lora, graph: "fast" })).tokens, standard[i].tokens);
    }
  } finally {
    await m.release();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fast decode graph: Qwen3 (per-head q/k norms before GroupQueryAttention) gives the standard graph's greedy tokens", async () => {
  const dir = await Deno.makeTempDir();
  // head_dim 32 with 4 heads on a 64-wide model: q is 128 wide, as in Qwen3 where head_dim ≠ hidden / heads
  await writeRandomModel(dir, {
    model_type: "qwen3",
    vocab_size: 300,
    hidden_size: 64,
    intermediate_size: 96,
    num_hidden_layers: 3,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 32,
    tie_word_embeddings: true,
    seed: 11,
  });
  const m = await CausalLM.load(dir, { device: "cpu", tokenizer: false, threads: 2 });
  try {
    assert(m.config.qkNorm, "the test model has q/k norms");
    assertEquals(fastDecodeUnsupported(m.config), null);
    const prompts = promptsFor(m.config.vocabSize, [5, 13, 2, 9], 6);
    // base (packed q/k/v GEMM, split for the norms) and the LoRA side path (separate projections)
    for (
      const [lora, attention] of [[null, "gqa"], [perturbed(m, 4, 0.05), "gqa"], [
        null,
        "cache-input",
      ]] as const
    ) {
      const { standard, fast } = await bothGraphs(m, prompts, 45, lora, { attention });
      assertEquals(fast.tokens, standard.tokens);
      standard.logprobs!.forEach((row, r) =>
        row.forEach((lp, k) => assert(Math.abs(lp - fast.logprobs![r][k]) < 1e-3, `row ${r} token ${k}`))
      );
    }
  } finally {
    await m.release();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fast decode graph: dropping finished rows (compact) keeps every row's tokens and random draws", async () => {
  const m = await CausalLM.load(TINY, { device: "cpu", tokenizer: false, threads: 2 });
  try {
    const prompts = promptsFor(m.config.vocabSize, [4, 9, 15, 6, 11, 3, 8, 12], 7);
    const o = { maxNewTokens: 70, temperature: 1, returnLogprobs: true };
    const fixed = await m.generate(prompts, { ...o, rng: new Rng(2) });
    const compact = await m.generate(prompts, { ...o, rng: new Rng(2), compact: true });
    const lengths = fixed.tokens.map((t) => t.length);
    assert(new Set(lengths).size > 2 && fixed.finished.some(Boolean), `rows must end apart: ${lengths}`);
    assertEquals(compact.tokens, fixed.tokens);
    assertEquals(compact.finished, fixed.finished);
    fixed.logprobs!.forEach((row, r) =>
      row.forEach((lp, k) => assert(Math.abs(lp - compact.logprobs![r][k]) < 1e-4, `row ${r} token ${k}`))
    );
  } finally {
    await m.release();
  }
});

Deno.test("fast decode graph: int8 / int4 rollouts stay close to float32 and feed the adapter", async () => {
  const m = await CausalLM.load(TINY, { device: "cpu", tokenizer: false, threads: 2 });
  try {
    const prompts = promptsFor(m.config.vocabSize, [6, 11], 3);
    const lora = perturbed(m, 9, 0.02);
    const o = { maxNewTokens: 24, temperature: 0, rng: new Rng(0), stopAtEos: false, lora };
    const ref = await m.generate(prompts, { ...o, returnLogprobs: true });
    for (const quantization of ["int8", "int4"] as const) {
      const q = await m.generate(prompts, { ...o, quantization, returnLogprobs: true });
      // Greedy paths may part once a near-tie flips; up to there the log-probs must be close.
      let agree = 0, worst = 0, sum = 0;
      for (let r = 0; r < prompts.length; r++) {
        for (let k = 0; k < ref.tokens[r].length && q.tokens[r][k] === ref.tokens[r][k]; k++) {
          agree++;
          const d = Math.abs(q.logprobs![r][k] - ref.logprobs![r][k]);
          worst = Math.max(worst, d);
          sum += d;
        }
      }
      assert(agree >= 4, `${quantization}: only ${agree} leading tokens agree with float32`);
      const [meanMax, worstMax] = quantization === "int8" ? [0.05, 0.5] : [0.3, 2];
      assert(
        sum / agree < meanMax && worst < worstMax,
        `${quantization}: log-prob gap mean ${sum / agree}, max ${worst}`,
      );
    }
    // The adapter reaches the quantized graph: a different adapter changes its log-probs.
    const a = await m.generate(prompts, { ...o, quantization: "int8", returnLogprobs: true });
    const b = await m.generate(prompts, {
      ...o,
      lora: perturbed(m, 10, 0.2),
      quantization: "int8",
      returnLogprobs: true,
    });
    assert(a.logprobs![0][0] !== b.logprobs![0][0], "the adapter did not change the int8 graph's output");
  } finally {
    await m.release();
  }
});

Deno.test("fast decode graph: sampling at temperature 1 from the in-graph distribution draws the same tokens", async () => {
  const m = await CausalLM.load(TINY, { device: "cpu", tokenizer: false, threads: 2 });
  try {
    const prompts = promptsFor(m.config.vocabSize, [5, 9, 14], 4);
    const o = { maxNewTokens: 30, temperature: 1, stopAtEos: false, returnLogprobs: true };
    const a = await m.generate(prompts, { ...o, rng: new Rng(8), graph: "standard" });
    const b = await m.generate(prompts, { ...o, rng: new Rng(8), graph: "fast" });
    // the same uniforms drive both; only a draw within float32 rounding of a CDF boundary could differ
    assertEquals(b.tokens, a.tokens);
    a.logprobs!.forEach((row, r) => row.forEach((lp, k) => assert(Math.abs(lp - b.logprobs![r][k]) < 1e-3)));
  } finally {
    await m.release();
  }
});

Deno.test("sampleFromProbs: inverse CDF, zero-mass tail skipped", () => {
  const p = Float32Array.of(9, 9, 0.2, 0.3, 0.5, 0, 9);
  assertEquals(sampleFromProbs(p, { off: 2, n: 4, u: 0 }), 0);
  assertEquals(sampleFromProbs(p, { off: 2, n: 4, u: 0.21 }), 1);
  assertEquals(sampleFromProbs(p, { off: 2, n: 4, u: 0.99 }), 2);
  assertEquals(sampleFromProbs(p, { off: 2, n: 4, u: 0.9999999 }), 2);
});

Deno.test("fastDecodeUnsupported: the standard-op graph for scaled RoPE and odd head sizes, not for Qwen3", () => {
  const base = {
    vocabSize: 10,
    hiddenSize: 64,
    intermediateSize: 8,
    numLayers: 1,
    numHeads: 2,
    numKvHeads: 1,
    headDim: 32,
    ropeTheta: 1e4,
    rmsNormEps: 1e-6,
    tieWordEmbeddings: true,
    qkvBias: false,
  };
  assertEquals(fastDecodeUnsupported(base), null);
  assertEquals(fastDecodeUnsupported({ ...base, qkNorm: true }), null);
  const llama3 = { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
  assert(fastDecodeUnsupported({ ...base, ropeScaling: llama3 })!.includes("rope_scaling"));
  assert(fastDecodeUnsupported({ ...base, headDim: 24 })!.includes("multiple of 16"));
});

Deno.test("quantizeWeight: MatMulNBits layout round-trips within half a step", () => {
  const rng = new Rng(4);
  const n = 5, k = 70; // K not a multiple of the block: the last block is padded
  const w = Float32Array.from({ length: n * k }, () => rng.normal());
  for (const bits of [4, 8] as const) {
    const q = quantizeWeight(w, { n, k }, { bits, block: 32 });
    assertEquals(q.data.length, n * 3 * (32 * bits) / 8);
    const back = dequantizeWeight(q);
    for (let i = 0; i < w.length; i++) {
      const step = q.scales[Math.floor(i / k) * 3 + Math.floor((i % k) / 32)];
      assert(Math.abs(back[i] - w[i]) <= step / 2 + 1e-6, `${bits} bits, element ${i}`);
    }
  }
});
