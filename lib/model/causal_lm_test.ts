import { CausalLM } from "./causal_lm.ts";
import { writeRandomModel } from "./testing.ts";
import { initLora } from "./lora.ts";
import { Rng } from "../util/rng.ts";
import { assert, assertEquals } from "../util/assert.ts";

async function model(type: "llama" | "qwen2" | "qwen3" = "llama", tie = false) {
  const dir = await Deno.makeTempDir();
  // qwen3: head_dim 6 differs from hidden / heads = 4
  const headDim = type === "qwen3" ? { head_dim: 6 } : {};
  await writeRandomModel(dir, { model_type: type, tie_word_embeddings: tie, seed: 3, ...headDim });
  return await CausalLM.load(dir, { device: "cpu", tokenizer: false, threads: 1 });
}

for (const [type, tie] of [["llama", false], ["qwen2", true], ["qwen3", true]] as const) {
  Deno.test(`KV-cache decoding agrees with the full-sequence forward (${type}, tied=${tie}, ragged prompts, LoRA)`, async () => {
    const m = await model(type, tie);
    const lora = initLora(m.config, { r: 2, alpha: 4, targets: ["q_proj", "v_proj", "down_proj"] }, {
      seed: 1,
    });
    for (const t of lora.tensors.values()) {
      for (let i = 0; i < t.data.length; i++) t.data[i] += 0.05 * Math.sin(i);
    }
    const prompts = [[5, 6, 7, 8, 9], [10, 11]];
    const res = await m.generate(prompts, {
      maxNewTokens: 6,
      temperature: 0,
      rng: new Rng(0),
      lora,
      returnLogprobs: true,
    });
    // Reference: one full forward over each prompt + completion (right-padded batch).
    const rows = prompts.map((p, r) => [...p, ...res.tokens[r]]);
    const T = Math.max(...rows.map((r) => r.length));
    const ids = rows.flatMap((r) => [...r, ...Array(T - r.length).fill(0)]);
    const mask = rows.flatMap((r) => [...r.map(() => 1), ...Array(T - r.length).fill(0)]);
    const { logprobs } = await m.logprobs({ ids, mask, batch: 2, length: T }, lora);
    rows.forEach((_row, r) => {
      res.tokens[r].forEach((_, k) => {
        const pos = prompts[r].length + k - 1; // next-token alignment: position pos predicts token pos+1
        const full = logprobs[r * T + pos], cached = res.logprobs![r][k];
        assert(Math.abs(full - cached) < 1e-4, `row ${r} token ${k}: cached ${cached} vs full ${full}`);
      });
    });
    await m.release();
  });
}

Deno.test("sampling is deterministic per seed and differs across seeds", async () => {
  const m = await model();
  const gen = (seed: number) =>
    m.generate([[2, 3, 4], [5]], { maxNewTokens: 8, temperature: 1, topP: 0.95, rng: new Rng(seed) });
  const a = await gen(1), b = await gen(1), c = await gen(2);
  assertEquals(a.tokens, b.tokens);
  assert(JSON.stringify(a.tokens) !== JSON.stringify(c.tokens), "different seeds should differ");
  await m.release();
});

Deno.test("llama3 RoPE scaling reaches the graphs: decoding still agrees with the full forward, and scores change", async () => {
  const dir = await Deno.makeTempDir();
  await writeRandomModel(dir, { seed: 4, head_dim: 8, num_attention_heads: 2, num_key_value_heads: 1 });
  const plain = await CausalLM.load(dir, { device: "cpu", tokenizer: false, threads: 1 });
  const cfgPath = `${dir}/config.json`, raw = JSON.parse(await Deno.readTextFile(cfgPath));
  // a tiny original context, so that the scaling changes frequencies at these short lengths
  raw.rope_scaling = {
    rope_type: "llama3",
    factor: 8,
    low_freq_factor: 1,
    high_freq_factor: 4,
    original_max_position_embeddings: 16,
  };
  await Deno.writeTextFile(cfgPath, JSON.stringify(raw));
  const scaled = await CausalLM.load(dir, { device: "cpu", tokenizer: false, threads: 1 });
  assertEquals(scaled.config.ropeScaling?.factor, 8);
  const prompts = [[5, 6, 7, 8, 9, 10, 11, 12], [13, 14]];
  const res = await scaled.generate(prompts, {
    maxNewTokens: 5,
    temperature: 0,
    rng: new Rng(0),
    returnLogprobs: true,
  });
  const rows = prompts.map((p, r) => [...p, ...res.tokens[r]]);
  const T = Math.max(...rows.map((r) => r.length));
  const ids = rows.flatMap((r) => [...r, ...Array(T - r.length).fill(0)]);
  const mask = rows.flatMap((r) => [...r.map(() => 1), ...Array(T - r.length).fill(0)]);
  const full = (await scaled.logprobs({ ids, mask, batch: 2, length: T })).logprobs;
  rows.forEach((_row, r) => {
    res.tokens[r].forEach((_, k) => {
      const pos = prompts[r].length + k - 1;
      const a = full[r * T + pos], b = res.logprobs![r][k];
      assert(Math.abs(a - b) < 1e-4, `row ${r} token ${k}: cached ${b} vs full ${a}`);
    });
  });
  const before = (await plain.logprobs({ ids, mask, batch: 2, length: T })).logprobs;
  let maxDiff = 0;
  for (let i = 0; i < full.length; i++) maxDiff = Math.max(maxDiff, Math.abs(full[i] - before[i]));
  assert(maxDiff > 1e-3, `scaling changed the log-probs by only ${maxDiff}`);
  await plain.release();
  await scaled.release();
});
