import { join } from "node:path";
import { CausalLM } from "./causal_lm.ts";
import { writeRandomModel } from "./testing.ts";
import { trainBpe, writeTokenizerFiles } from "./bpe.ts";
import { initLora } from "./lora.ts";
import { exportTransformersJs, openTransformersJs, tfjsInt64 } from "./export_tfjs.ts";
import { mergeLora } from "./lora_merge.ts";
import { Rng, UserError } from "../util/mod.ts";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-export-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

const TEXTS = Array.from({ length: 60 }, (_, i) => `Tom has ${i} apples and Anna has ${2 * i} pears.`);

async function randomModel(type: "llama" | "qwen2" | "qwen3", tie: boolean, seed: number): Promise<CausalLM> {
  const dir = await Deno.makeTempDir({ dir: ROOT });
  const headDim = type === "qwen3" ? { head_dim: 6 } : {}; // differs from hidden / heads = 4
  await writeRandomModel(dir, {
    model_type: type,
    tie_word_embeddings: tie,
    vocab_size: 128,
    seed,
    ...headDim,
  });
  await writeTokenizerFiles(dir, trainBpe(TEXTS, { vocabSize: 128 }));
  return await CausalLM.load(dir, { device: "cpu", threads: 1 });
}

function perturbedLora(m: CausalLM) {
  const lora = initLora(m.config, { r: 2, alpha: 4, targets: ["q_proj", "v_proj", "up_proj"] }, { seed: 2 });
  for (const t of lora.tensors.values()) {
    for (let i = 0; i < t.data.length; i++) t.data[i] += 0.3 * Math.sin(i + 1);
  }
  return lora;
}

function logSoftmax(x: ArrayLike<number>, off: number, n: number, t: number): number {
  let m = -Infinity, s = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, x[off + i]);
  for (let i = 0; i < n; i++) s += Math.exp(x[off + i] - m);
  return x[off + t] - m - Math.log(s);
}

for (const [type, tie] of [["llama", false], ["qwen2", true], ["qwen3", true]] as const) {
  Deno.test(`exportTransformersJs (${type}, tied=${tie}, LoRA merged): greedy generate and logits match the engine`, async () => {
    const m = await randomModel(type, tie, 5);
    const lora = perturbedLora(m);
    const out = join(ROOT, `export-${type}`);
    const res = await exportTransformersJs(m, out, { lora });
    assertEquals(res.files.sort(), [
      "config.json",
      "generation_config.json",
      "onnx/model.onnx",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    const config = JSON.parse(await Deno.readTextFile(join(out, "config.json")));
    assertEquals(config.model_type, type);
    const { model, tokenizer } = await openTransformersJs(out, { device: "cpu", threads: 1 });
    // the copied tokenizer encodes like ours
    const prompts = ["Tom has 3 apples", "Anna has"].map((p) => m.tok.encode(p));
    assertEquals(tokenizer.encode("Tom has 3 apples", { add_special_tokens: false }), prompts[0]);
    // greedy generation, one prompt at a time (transformers.js pads finished rows)
    let generated = 0;
    for (const ids of prompts) {
      const ours = await m.generate([ids], { maxNewTokens: 12, temperature: 0, rng: new Rng(0), lora });
      const theirs = await model.generate({
        input_ids: tfjsInt64(ids, [1, ids.length]),
        attention_mask: tfjsInt64(ids.map(() => 1), [1, ids.length]),
        max_new_tokens: 12,
        do_sample: false,
      });
      const row = (theirs.tolist()[0] as bigint[]).map(Number);
      assertEquals(row.slice(0, ids.length), ids);
      assertEquals(row.slice(ids.length), ours.tokens[0], { msg: `greedy tokens for prompt [${ids}]` });
      generated += ours.tokens[0].length;
    }
    assert(generated >= 6, `only ${generated} tokens generated`);
    // a left-padded batch (padding masked in the prefill and in the cached steps)
    const batch = await m.generate(prompts, { maxNewTokens: 8, temperature: 0, rng: new Rng(0), lora });
    const P0 = Math.max(...prompts.map((p) => p.length));
    const left = prompts.flatMap((p) => [...Array(P0 - p.length).fill(0), ...p]);
    const leftMask = prompts.flatMap((p) => [...Array(P0 - p.length).fill(0), ...p.map(() => 1)]);
    const both = await model.generate({
      input_ids: tfjsInt64(left, [2, P0]),
      attention_mask: tfjsInt64(leftMask, [2, P0]),
      max_new_tokens: 8,
      do_sample: false,
    });
    (both.tolist() as bigint[][]).forEach((row, r) => {
      const mine = batch.tokens[r];
      assertEquals(row.slice(P0, P0 + mine.length).map(Number), mine, { msg: `batched row ${r}` });
    });
    // logits of a right-padded batch vs the engine's next-token log-probs (same merged weights)
    const rows = [[...prompts[0], 7, 9, 11], prompts[1]];
    const T = Math.max(...rows.map((r) => r.length)), V = m.config.vocabSize;
    const ids = rows.flatMap((r) => [...r, ...Array(T - r.length).fill(0)]);
    const mask = rows.flatMap((r) => [...r.map(() => 1), ...Array(T - r.length).fill(0)]);
    const { logits } = await model({
      input_ids: tfjsInt64(ids, [2, T]),
      attention_mask: tfjsInt64(mask, [2, T]),
    });
    assertEquals(logits.dims, [2, T, V]);
    const { logprobs } = await m.logprobs({ ids, mask, batch: 2, length: T }, lora);
    let worst = 0, n = 0;
    rows.forEach((r, b) => {
      for (let t = 0; t + 1 < r.length; t++) {
        const theirs = logSoftmax(logits.data as Float32Array, (b * T + t) * V, V, r[t + 1]);
        worst = Math.max(worst, Math.abs(theirs - logprobs[b * T + t]));
        n++;
      }
    });
    assert(n >= 8 && worst < 1e-4, `max |Δ log p| = ${worst} over ${n} tokens`);
    await model.dispose();
    await m.release();
  });
}

Deno.test("exportTransformersJs: weights in onnx/model.onnx_data load and give the same logits", async () => {
  const m = await randomModel("llama", true, 7);
  const small = join(ROOT, "inline"), big = join(ROOT, "external");
  await exportTransformersJs(m, small);
  const res = await exportTransformersJs(m, big, { externalDataBytes: 0 });
  assert(res.externalData && res.files.includes("onnx/model.onnx_data"));
  const inlineSize = (await Deno.stat(join(small, "onnx", "model.onnx"))).size;
  const dataSize = (await Deno.stat(join(big, "onnx", "model.onnx_data"))).size;
  assert(dataSize > inlineSize / 2, `external data ${dataSize} B vs inline model ${inlineSize} B`);
  const config = JSON.parse(await Deno.readTextFile(join(big, "config.json")));
  assertEquals(config["transformers.js_config"], { dtype: "fp32", use_external_data_format: true });
  const ids = m.tok.encode("Tom has 3 apples");
  const feeds = () => ({
    input_ids: tfjsInt64(ids, [1, ids.length]),
    attention_mask: tfjsInt64(ids.map(() => 1), [1, ids.length]),
  });
  const a = await openTransformersJs(small, { device: "cpu", threads: 1 });
  const b = await openTransformersJs(big, { device: "cpu", threads: 1 });
  const la = (await a.model(feeds())).logits.data as Float32Array;
  const lb = (await b.model(feeds())).logits.data as Float32Array;
  assertEquals(Array.from(lb), Array.from(la));
  await a.model.dispose();
  await b.model.dispose();
  await m.release();
});

Deno.test("mergeLora adds scale·B·A to the targeted weights only; a fresh adapter changes nothing", async () => {
  const m = await randomModel("llama", false, 1);
  const fresh = initLora(m.config, { r: 2, alpha: 4, targets: ["q_proj"] }, { seed: 1 });
  const same = mergeLora(m.weights, fresh);
  for (const [k, w] of m.weights) assertEquals(Array.from(same.get(k)!.data), Array.from(w.data), { msg: k });
  const lora = perturbedLora(m);
  const merged = mergeLora(m.weights, lora);
  const name = "model.layers.1.self_attn.v_proj";
  const a = lora.tensors.get(`base_model.model.${name}.lora_A.weight`)!;
  const b = lora.tensors.get(`base_model.model.${name}.lora_B.weight`)!;
  const w = m.weights.get(`${name}.weight`)!, [, fin] = w.shape;
  const [o, i] = [3, 5];
  const expected = w.data[o * fin + i] +
    2 * (b.data[o * 2] * a.data[i] + b.data[o * 2 + 1] * a.data[fin + i]);
  assert(Math.abs(merged.get(`${name}.weight`)!.data[o * fin + i] - expected) < 1e-6);
  assertEquals(
    merged.get("model.layers.0.mlp.down_proj.weight"),
    m.weights.get("model.layers.0.mlp.down_proj.weight"),
  );
});

Deno.test("openTransformersJs / exportTransformersJs: missing files are one-line UserErrors", async () => {
  const empty = await Deno.makeTempDir({ dir: ROOT });
  await assertRejects(() => openTransformersJs(empty), { cls: UserError, includes: "has no config.json" });
  await Deno.writeTextFile(join(empty, "config.json"), "{}");
  await assertRejects(() => openTransformersJs(empty), {
    cls: UserError,
    includes: "has no onnx/model.onnx",
  });
  await assertRejects(() => openTransformersJs(join(ROOT, "no/such/model")), {
    cls: UserError,
    includes: "no/such/model",
  });
  const dir = await Deno.makeTempDir({ dir: ROOT });
  await writeRandomModel(dir, { vocab_size: 64 });
  const bare = await CausalLM.load(dir, { device: "cpu", threads: 1, tokenizer: false });
  await assertRejects(() => exportTransformersJs(bare, join(dir, "out")), {
    cls: UserError,
    includes: "has no tokenizer.json",
  });
});
