import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertThrows } from "../util/assert.ts";
import { UserError } from "../util/mod.ts";
import { checkWeightsFit, expectedWeightShapes, loadModelConfig, parseModelConfig } from "./config.ts";
import { loadModelWeights } from "./safetensors.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-model-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
const tempDir = () => Deno.makeTempDir({ dir: ROOT });

const SMOLLM2 = {
  architectures: ["LlamaForCausalLM"],
  attention_bias: false,
  bos_token_id: 1,
  eos_token_id: 2,
  head_dim: 64,
  hidden_act: "silu",
  hidden_size: 576,
  intermediate_size: 1536,
  max_position_embeddings: 8192,
  mlp_bias: false,
  model_type: "llama",
  num_attention_heads: 9,
  num_hidden_layers: 30,
  num_key_value_heads: 3,
  pad_token_id: 2,
  rms_norm_eps: 1e-5,
  rope_interleaved: false,
  rope_scaling: null,
  rope_theta: 100000,
  tie_word_embeddings: true,
  torch_dtype: "bfloat16",
  vocab_size: 49152,
};

const QWEN25 = {
  architectures: ["Qwen2ForCausalLM"],
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: "silu",
  hidden_size: 896,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 21,
  model_type: "qwen2",
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

// Qwen3-0.6B's config.json: head_dim 128 while hidden / heads = 64
const QWEN3 = {
  architectures: ["Qwen3ForCausalLM"],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  head_dim: 128,
  hidden_act: "silu",
  hidden_size: 1024,
  initializer_range: 0.02,
  intermediate_size: 3072,
  max_position_embeddings: 40960,
  max_window_layers: 28,
  model_type: "qwen3",
  num_attention_heads: 16,
  num_hidden_layers: 28,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 1000000,
  sliding_window: null,
  tie_word_embeddings: true,
  torch_dtype: "bfloat16",
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

// Llama-3.2-1B-Instruct's config.json (rope scaling of type llama3)
const LLAMA32_1B = {
  architectures: ["LlamaForCausalLM"],
  attention_bias: false,
  bos_token_id: 128000,
  eos_token_id: [128001, 128008, 128009],
  head_dim: 64,
  hidden_act: "silu",
  hidden_size: 2048,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: "llama",
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_scaling: {
    factor: 32.0,
    high_freq_factor: 4.0,
    low_freq_factor: 1.0,
    original_max_position_embeddings: 8192,
    rope_type: "llama3",
  },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: "bfloat16",
  vocab_size: 128256,
};

const TINY_LLAMA = {
  model_type: "llama",
  vocab_size: 97,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  tie_word_embeddings: false,
  attention_bias: false,
  max_position_embeddings: 256,
};

Deno.test("config: SmolLM2-like llama config normalizes", () => {
  const c = parseModelConfig(SMOLLM2);
  const { raw, ...rest } = c;
  assertEquals(raw, SMOLLM2);
  assertEquals(rest, {
    architecture: "llama",
    vocabSize: 49152,
    hiddenSize: 576,
    intermediateSize: 1536,
    numLayers: 30,
    numHeads: 9,
    numKvHeads: 3,
    headDim: 64,
    ropeTheta: 100000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: true,
    qkvBias: false,
    qkNorm: false,
    maxPositions: 8192,
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: 2,
  });
});

Deno.test("config: Qwen2.5-like config has qkv biases; defaults fill optional fields", () => {
  const c = parseModelConfig(QWEN25);
  assertEquals([c.architecture, c.qkvBias, c.headDim, c.numKvHeads, c.ropeTheta], [
    "qwen2",
    true,
    64,
    2,
    1e6,
  ]);
  assertEquals(c.eosTokenIds, [151645]);
  assertEquals(c.padTokenId, undefined);
  const minimal = parseModelConfig({
    model_type: "llama",
    vocab_size: 10,
    hidden_size: 8,
    intermediate_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    eos_token_id: [3, 4],
    rope_parameters: { rope_type: "default", rope_theta: 500 },
  });
  assertEquals(
    [minimal.numKvHeads, minimal.headDim, minimal.ropeTheta, minimal.rmsNormEps, minimal.maxPositions],
    [2, 4, 500, 1e-6, 2048],
  );
  assertEquals([minimal.tieWordEmbeddings, minimal.qkvBias, minimal.eosTokenIds], [false, false, [3, 4]]);
  assertEquals(parseModelConfig({ ...TINY_LLAMA, attention_bias: true }).qkvBias, true);
  assertEquals(parseModelConfig({ ...TINY_LLAMA, rope_scaling: { type: "default" } }).ropeTheta, 10000);
});

Deno.test("config: Qwen3-0.6B config: q/k norms, head_dim independent of hidden / heads, no q/k/v biases", () => {
  const c = parseModelConfig(QWEN3);
  assertEquals(
    [c.architecture, c.qkNorm, c.qkvBias, c.headDim, c.numHeads, c.numKvHeads, c.maxPositions, c.eosTokenIds],
    ["qwen3", true, false, 128, 16, 8, 40960, [151645]],
  );
  const byType = parseModelConfig({ ...QWEN3, architectures: undefined });
  assertEquals([byType.architecture, byType.qkNorm], ["qwen3", true]);
  const shapes = expectedWeightShapes({ ...c, numLayers: 1 });
  assertEquals(shapes.get("model.layers.0.self_attn.q_proj.weight"), [16 * 128, 1024]);
  assertEquals(shapes.get("model.layers.0.self_attn.k_proj.weight"), [8 * 128, 1024]);
  assertEquals(shapes.get("model.layers.0.self_attn.o_proj.weight"), [1024, 16 * 128]);
  assertEquals(shapes.get("model.layers.0.self_attn.q_norm.weight"), [128]);
  assertEquals(shapes.get("model.layers.0.self_attn.k_norm.weight"), [128]);
  assert(!shapes.has("model.layers.0.self_attn.q_proj.bias") && !shapes.has("lm_head.weight"));
  assertEquals(shapes.size, 1 + 11 + 1);
  // Qwen3 with attention_bias (HF honours it) gets q/k/v biases as well
  assertEquals(parseModelConfig({ ...QWEN3, attention_bias: true }).qkvBias, true);
  assertEquals(parseModelConfig(QWEN25).qkNorm, false);
});

Deno.test("config: Llama-3.2-1B config with llama3 rope scaling (also in transformers v5 rope_parameters)", () => {
  const c = parseModelConfig(LLAMA32_1B);
  assertEquals([c.architecture, c.ropeTheta, c.eosTokenIds, c.tieWordEmbeddings], [
    "llama",
    500000,
    [128001, 128008, 128009],
    true,
  ]);
  const scaling = { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 };
  assertEquals(c.ropeScaling, scaling);
  const v5 = parseModelConfig({
    ...LLAMA32_1B,
    rope_scaling: undefined,
    rope_theta: undefined,
    rope_parameters: { ...LLAMA32_1B.rope_scaling, rope_theta: 500000 },
  });
  assertEquals([v5.ropeTheta, v5.ropeScaling], [500000, scaling]);
  assertEquals(parseModelConfig(SMOLLM2).ropeScaling, undefined);
});

Deno.test("config: each invalid config names the field", () => {
  const bad = (patch: Record<string, unknown>, includes: string) =>
    assertThrows(() => parseModelConfig({ ...TINY_LLAMA, ...patch }, { source: "m/config.json" }), {
      cls: UserError,
      includes: includes,
    });
  assertThrows(() => parseModelConfig({ ...SMOLLM2, architectures: ["MistralForCausalLM"] }), {
    cls: UserError,
    includes:
      `architecture "MistralForCausalLM" is not supported (supported: LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)`,
  });
  assertThrows(
    () => parseModelConfig({ ...QWEN3, architectures: ["Qwen3MoeForCausalLM"], model_type: "qwen3_moe" }),
    { cls: UserError, includes: `architecture "Qwen3MoeForCausalLM" is not supported` },
  );
  bad({ model_type: "gpt2" }, `model_type "gpt2" is not supported`);
  bad({ model_type: undefined }, `missing field "architectures"`);
  bad({ vocab_size: undefined }, `m/config.json: missing field "vocab_size"`);
  bad({ hidden_size: "32" }, `field "hidden_size" must be a positive integer, got "32"`);
  bad({ num_hidden_layers: 0 }, `field "num_hidden_layers" must be a positive integer`);
  bad({ num_key_value_heads: 3 }, "num_attention_heads 4 is not a multiple of num_key_value_heads 3");
  bad({ hidden_size: 30 }, "hidden_size 30 is not a multiple of num_attention_heads 4");
  bad({ rms_norm_eps: -1 }, `field "rms_norm_eps" must be a positive number`);
  bad({ tie_word_embeddings: "yes" }, `field "tie_word_embeddings" must be true or false`);
  bad({ rope_scaling: { rope_type: "yarn", factor: 4 } }, `rope_scaling type "yarn" is not supported`);
  bad(
    { rope_scaling: { rope_type: "llama3", factor: 8 } },
    `rope_scaling.low_freq_factor must be a positive number`,
  );
  bad(
    { rope_scaling: { ...LLAMA32_1B.rope_scaling, high_freq_factor: 1 } },
    "rope_scaling.high_freq_factor 1 must exceed low_freq_factor 1",
  );
  bad({ use_sliding_window: true }, "use_sliding_window");
  bad({ hidden_act: "gelu" }, `hidden_act "gelu" is not supported`);
  bad({ eos_token_id: "x" }, `field "eos_token_id" must be a token id`);
  bad({ quantization_config: { bits: 4 } }, "quantized");
  assertThrows(() => parseModelConfig([1]), { cls: UserError, includes: "not a JSON object" });
});

Deno.test("config: loadModelConfig reports a missing or corrupt config.json", async () => {
  const dir = await tempDir();
  await assertRejects(() => loadModelConfig(dir), {
    cls: UserError,
    includes: `model folder ${dir} has no config.json`,
  });
  await Deno.writeTextFile(join(dir, "config.json"), "{nope");
  await assertRejects(() => loadModelConfig(dir), {
    cls: UserError,
    includes: `${dir}/config.json: not valid JSON`,
  });
  await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify(TINY_LLAMA));
  assertEquals((await loadModelConfig(dir)).numLayers, 2);
});

Deno.test("config: checkWeightsFit names the first missing or misshapen tensor", () => {
  const c = parseModelConfig(TINY_LLAMA);
  const shapes = expectedWeightShapes(c);
  assertEquals(shapes.size, 1 + 2 * 9 + 1 + 1);
  const weights = new Map([...shapes].map(([n, s]) => [n, { shape: s }]));
  weights.set("model.rotary_emb.inv_freq", { shape: [4] });
  assertEquals(checkWeightsFit(c, weights).unexpected, ["model.rotary_emb.inv_freq"]);
  weights.set("model.layers.0.self_attn.q_proj.weight", { shape: [64, 32] });
  assertThrows(() => checkWeightsFit(c, weights, { source: "m" }), {
    cls: UserError,
    includes: "m: model.layers.0.self_attn.q_proj.weight has shape [64,32], config expects [32,32]",
  });
  weights.delete("model.layers.0.self_attn.q_proj.weight");
  assertThrows(() => checkWeightsFit(c, weights), {
    cls: UserError,
    includes: "missing tensor model.layers.0.self_attn.q_proj.weight",
  });
  // tied: lm_head may be absent, but when present must fit
  const tied = parseModelConfig({ ...QWEN25, num_hidden_layers: 1 });
  const tw = new Map([...expectedWeightShapes(tied)].map(([n, s]) => [n, { shape: s }]));
  assert(!tw.has("lm_head.weight") && tw.has("model.layers.0.self_attn.k_proj.bias"));
  assertEquals(checkWeightsFit(tied, tw).unexpected, []);
  tw.set("lm_head.weight", { shape: [1, 896] });
  assertThrows(() => checkWeightsFit(tied, tw), {
    cls: UserError,
    includes: "lm_head.weight has shape [1,896]",
  });
  // a bias the graph has no place for is an error, not a dropped tensor
  const biased = new Map([...shapes].map(([n, s]) => [n, { shape: s }]));
  biased.set("model.layers.1.self_attn.o_proj.bias", { shape: [32] });
  assertThrows(() => checkWeightsFit(c, biased, { source: "m" }), {
    cls: UserError,
    includes: "m: model.layers.1.self_attn.o_proj.bias is not supported",
  });
});

const ORACLE = new URL("../../../shared/oracle/grpo_reference.py", import.meta.url).pathname;
const hasOracle = (() => {
  try {
    Deno.statSync(ORACLE);
    return new Deno.Command("/usr/bin/python3", { args: ["-c", "import numpy, torch"] }).outputSync().success;
  } catch {
    return false;
  }
})();
if (!hasOracle) console.warn("config_test: skipping the oracle model check (no oracle or no python3 torch)");

Deno.test({
  name: "config: models made by the PyTorch oracle (tiny, qwen2ish, qwen3ish) load and fit",
  ignore: !hasOracle,
  fn: async () => {
    const dir = await tempDir();
    const script = `
import importlib.util, sys

spec = importlib.util.spec_from_file_location("oracle", sys.argv[1]); m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
m.make_model(sys.argv[2] + "/tiny", "tiny", 0)
m.make_model(sys.argv[2] + "/qwen", "qwen2ish", 0)
m.make_model(sys.argv[2] + "/qwen3", "qwen3ish", 0)
`;
    const r = await new Deno.Command("/usr/bin/python3", { args: ["-c", script, ORACLE, dir] }).output();
    assert(r.success, new TextDecoder().decode(r.stderr));
    const models = [["tiny", "llama", false], ["qwen", "qwen2", true], ["qwen3", "qwen3", true]] as const;
    for (const [name, arch, tied] of models) {
      const c = await loadModelConfig(join(dir, name));
      assertEquals([c.architecture, c.tieWordEmbeddings, c.qkvBias], [arch, tied, arch === "qwen2"]);
      assertEquals(c.qkNorm, arch === "qwen3");
      const w = await loadModelWeights(join(dir, name));
      assertEquals(checkWeightsFit(c, w).unexpected, []);
      assertEquals(w.size, expectedWeightShapes(c).size);
    }
  },
});
