import { join } from "node:path";
import {
  CausalLM,
  exportTransformersJs,
  initLora,
  type LoraAdapter,
  trainBpe,
  writeTokenizerFiles,
} from "../model/mod.ts";
import { writeRandomModel } from "../model/testing.ts";
import { Rng, UserError } from "../util/mod.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "../util/assert.ts";
import {
  detectScorerKind,
  lmPerplexityScorer,
  perplexityOf,
  policyPerplexityScorer,
  policyTargetScorer,
  userTurnLayout,
} from "./scorers.ts";
import { perplexityReward } from "./perplexity.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-scorers-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

const TEXTS = Array.from({ length: 60 }, (_, i) => `Tom has ${i} apples and Anna has ${2 * i} pears.`);
const PROMPTS = ["<|user|>\nHow many apples?<|end|>\n<|assistant|>\n", "Anna has", ""];
const COMPLETIONS = ["Tom has 3 apples.", " 12 pears and 4 apples", "Tom"];

let fixture: Promise<{ dir: string; model: CausalLM; lora: LoraAdapter }> | null = null;
function setup() {
  fixture ??= (async () => {
    const dir = join(ROOT, "model");
    await writeRandomModel(dir, { vocab_size: 128, seed: 4 });
    await writeTokenizerFiles(dir, trainBpe(TEXTS, { vocabSize: 128 }));
    const model = await CausalLM.load(dir, { device: "cpu", threads: 1 });
    const lora = initLora(model.config, { r: 2, alpha: 4, targets: ["q_proj", "down_proj"] }, { seed: 1 });
    for (const t of lora.tensors.values()) {
      for (let i = 0; i < t.data.length; i++) t.data[i] += 0.2 * Math.cos(i);
    }
    return { dir, model, lora };
  })();
  return fixture;
}

/** PPL by hand: one unpadded row through `model.logprobs`. */
async function byHand(model: CausalLM, context: number[], target: number[], lora: LoraAdapter | null) {
  const ids = [...context, ...target];
  const { logprobs } = await model.logprobs(
    { ids, mask: ids.map(() => 1), batch: 1, length: ids.length },
    lora,
  );
  const lps = target.map((_, k) => logprobs[context.length + k - 1]);
  return Math.exp(-lps.reduce((a, b) => a + b, 0) / lps.length);
}

Deno.test("policyPerplexityScorer: exp(−mean log p) of the completion tokens, batched = one by one", async () => {
  const { model, lora } = await setup();
  let current: LoraAdapter | null = lora;
  const scorer = policyPerplexityScorer(model, { lora: () => current, batchSize: 2 });
  const got = await scorer.perplexities(PROMPTS, COMPLETIONS);
  const tok = model.tok;
  for (let i = 0; i < PROMPTS.length; i++) {
    const ctx = tok.encode(PROMPTS[i]);
    const want = await byHand(
      model,
      ctx.length ? ctx : [tok.eosTokenIds[0]],
      tok.encode(COMPLETIONS[i]),
      lora,
    );
    assert(Math.abs(got[i] - want) <= 1e-4 * want, `row ${i}: ${got[i]} vs ${want}`);
  }
  // the adapter is read at every call
  current = null;
  const base = await scorer.perplexities(PROMPTS.slice(0, 1), COMPLETIONS.slice(0, 1));
  assert(Math.abs(base[0] - got[0]) > 1e-3, "the LoRA getter must be used");
  assertEquals([scorer.scored, scorer.nonFinite, scorer.truncated], [4, 0, 0]);
});

Deno.test("policyPerplexityScorer: the model's own greedy text has lower PPL than the same tokens reversed", async () => {
  const { model } = await setup();
  const prompt = "Tom has";
  const gen = await model.generate([model.tok.encode(prompt)], {
    maxNewTokens: 10,
    temperature: 0,
    rng: new Rng(0),
  });
  const ids = gen.tokens[0].filter((t) => !model.tok.eosTokenIds.includes(t));
  assert(ids.length >= 4, `greedy output too short: ${ids}`);
  const scorer = policyPerplexityScorer(model);
  const [greedy, reversed] = await scorer.perplexities([prompt, prompt], [
    model.tok.decode(ids),
    model.tok.decode([...ids].reverse()),
  ]);
  assert(greedy < reversed, `greedy ${greedy} vs reversed ${reversed}`);
});

Deno.test("scorers: empty completions are Infinity (counted, reward 0); long rows are cut from the left", async () => {
  const { model } = await setup();
  const scorer = policyPerplexityScorer(model, { maxLength: 6 });
  const [empty, long] = await scorer.perplexities(["Tom has", PROMPTS[0]], ["", "Tom has 3 apples."]);
  assertEquals(empty, Infinity);
  assert(Number.isFinite(long));
  assertEquals([scorer.nonFinite, scorer.truncated, scorer.scored], [1, 1, 2]);
  const tok = model.tok, target = tok.encode("Tom has 3 apples.");
  const ctx = tok.encode(PROMPTS[0]);
  const want = target.length >= 6
    ? await byHand(model, ctx.slice(-1), target.slice(0, 5), null)
    : await byHand(model, ctx.slice(-(6 - target.length)), target, null);
  assertAlmostEquals(long, want, { tol: 1e-4 * want });
  const reward = perplexityReward(scorer, { warn: () => {} });
  assertEquals(await reward.fn({ prompts: ["a"], completions: [""] }), [0]);
  assertEquals(reward.nonFinite, 1);
  assertEquals(perplexityOf([]), Infinity);
  assertEquals(perplexityOf([-Infinity, -1]), Infinity);
  assertAlmostEquals(perplexityOf([-1, -3]), Math.exp(2));
  await assertRejects(() => scorer.perplexities(["a"], []), {
    cls: UserError,
    includes: "1 prompts for 0 completions",
  });
});

Deno.test("lmPerplexityScorer: engine and transformers.js (exported, LoRA merged) agree with the policy scorer", async () => {
  const { dir, model, lora } = await setup();
  const engine = await lmPerplexityScorer(dir, { device: "cpu", threads: 1 });
  assertEquals(engine.kind, "engine");
  const base = await policyPerplexityScorer(model).perplexities(PROMPTS, COMPLETIONS);
  const viaEngine = await engine.perplexities(PROMPTS, COMPLETIONS);
  viaEngine.forEach((p, i) => assertAlmostEquals(p, base[i], { tol: 1e-4 * base[i] }));
  await engine.release();

  const out = join(ROOT, "tfjs");
  await exportTransformersJs(model, out, { lora });
  assertEquals(await detectScorerKind(out), "transformers.js");
  const tfjs = await lmPerplexityScorer(out, { device: "cpu", threads: 1, batchSize: 2 });
  assertEquals(tfjs.kind, "transformers.js");
  const want = await policyPerplexityScorer(model, { lora: () => lora }).perplexities(PROMPTS, COMPLETIONS);
  const got = await tfjs.perplexities(PROMPTS, COMPLETIONS);
  got.forEach((p, i) => assert(Math.abs(p - want[i]) <= 1e-3 * want[i], `row ${i}: ${p} vs ${want[i]}`));
  await tfjs.release();

  // DialoGPT style: prompt <eos> completion <eos>, the closing eos scored too
  const sep = await lmPerplexityScorer(out, { device: "cpu", threads: 1, eosSeparated: true });
  const eos = model.tok.eosTokenIds[0];
  const [p] = await sep.perplexities(["Anna has"], [" 12 pears"]);
  const ctx = [...model.tok.encode("Anna has"), eos], target = [...model.tok.encode(" 12 pears"), eos];
  const hand = await byHand(model, ctx, target, lora);
  assert(Math.abs(p - hand) <= 1e-3 * hand, `${p} vs ${hand}`);
  assertEquals(await sep.perplexities(["x"], [""]).then((r) => Number.isFinite(r[0])), true);
  await sep.release();
});

Deno.test("lmPerplexityScorer: kind detection and missing models", async () => {
  assertEquals(await detectScorerKind("Xenova/DialoGPT-small"), "transformers.js");
  assertEquals(await detectScorerKind("onnx-community/Qwen2.5-0.5B-Instruct"), "transformers.js");
  assertEquals(await detectScorerKind("HuggingFaceTB/SmolLM2-135M-Instruct"), "engine");
  const missing = join(ROOT, "no-such-model");
  await assertRejects(() => lmPerplexityScorer(missing), { cls: UserError, includes: missing });
  await assertRejects(() => lmPerplexityScorer(missing, { kind: "transformers.js" }), {
    cls: UserError,
    includes: missing,
  });
  const { dir } = await setup();
  await assertRejects(() => lmPerplexityScorer(dir, { kind: "transformers.js" }), {
    cls: UserError,
    includes: "has no onnx/model.onnx",
  });
});

Deno.test("policyTargetScorer: per-token log-probs of the target after the context, capped at maxTargetTokens", async () => {
  const { model, lora } = await setup();
  const scorer = policyTargetScorer(model, { lora: () => lora, batchSize: 2 });
  const got = await scorer.targetLogprobs(PROMPTS, COMPLETIONS);
  const tok = model.tok;
  for (let i = 0; i < PROMPTS.length; i++) {
    const ctx = tok.encode(PROMPTS[i]), target = tok.encode(COMPLETIONS[i]);
    assertEquals(got[i].length, target.length);
    const want = await byHand(model, ctx.length ? ctx : [tok.eosTokenIds[0]], target, lora);
    assertAlmostEquals(perplexityOf(got[i]), want, { tol: 1e-4 * want });
  }
  const capped = await scorer.targetLogprobs(PROMPTS.slice(0, 2), COMPLETIONS.slice(0, 2), {
    maxTargetTokens: 2,
  });
  assertEquals(capped.map((r) => r.length), [2, 2]);
  assertEquals(capped[0], got[0].slice(0, 2));
  assertEquals(scorer.scored, 5);
  await assertRejects(() => scorer.targetLogprobs(["a"], []), {
    cls: UserError,
    includes: "1 contexts for 0 targets",
  });
});

Deno.test("userTurnLayout: engine scorers carry their model's chat layout of a plain user turn", async () => {
  const { model, dir } = await setup();
  const want = "<|user|>\nHow many apples?<|end|>\n<|assistant|>\n";
  assertEquals(userTurnLayout(model.tok)!("How many apples?"), want);
  assertEquals(PROMPTS[0], want);
  assertEquals(policyPerplexityScorer(model).layout!("How many apples?"), want);
  assertEquals(policyTargetScorer(model).layout!("How many apples?"), want);
  const engine = await lmPerplexityScorer(dir, { device: "cpu", threads: 1 });
  assertEquals(engine.layout!("How many apples?"), want);
  await engine.release();
  const noTemplate = {
    applyChatTemplate: () => {
      throw new UserError("tokenizer has no chat_template");
    },
  };
  assertEquals(userTurnLayout(noTemplate as unknown as typeof model.tok), undefined);
});
