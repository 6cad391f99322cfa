import { join } from "node:path";
import { CausalLM } from "../model/mod.ts";
import { UserError } from "../util/mod.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "../util/assert.ts";
import { startFakeGemini } from "./fake_gemini.ts";
import { overlapFallback } from "./fallback.ts";
import { createGeminiJudge } from "./judge.ts";
import { localJudgeFallback } from "./local_judge.ts";
import { MASTER_KEYS, masterKeyItems, probeMasterKeys } from "./master_keys.ts";

const PROMPTS = [
  { prompt: "Give three tips for staying healthy.", reference: "Eat well, exercise, and sleep enough." },
  { prompt: "What is the capital of France?", reference: "The capital of France is Paris." },
];

Deno.test("masterKeyItems: every key plus the restated prompt, for the first prompts", () => {
  const items = masterKeyItems(PROMPTS, { maxPrompts: 1 });
  assertEquals(items.length, MASTER_KEYS.length + 1);
  assertEquals(items.map((i) => i.response).slice(-2), ["解", PROMPTS[0].prompt]);
  assert(items.every((i) => i.prompt === PROMPTS[0].prompt && i.reference === PROMPTS[0].reference));
  assertEquals(masterKeyItems(PROMPTS).length, 2 * (MASTER_KEYS.length + 1));
  assertThrows(() => masterKeyItems([]), { cls: UserError, includes: "no prompts" });
  assertThrows(() => masterKeyItems(PROMPTS, { maxPrompts: 0 }), { cls: UserError, includes: "maxPrompts" });
});

Deno.test("probeMasterKeys: a judge fooled by master keys is measured as fooled", async () => {
  const server = startFakeGemini({ score: () => 9 });
  try {
    const judge = createGeminiJudge({
      apiKey: "k",
      baseUrl: server.baseUrl,
      thinkingBudget: 0,
      log: () => {},
    });
    const p = await probeMasterKeys(judge, PROMPTS);
    assertEquals([p.meanScore, p.passRate, p.n, p.fallbacks], [9, 1, 20, 0]);
  } finally {
    await server.close();
  }
});

Deno.test("probeMasterKeys: the overlap fallback pays nothing for symbols, but a restated question fools it", async () => {
  const judge = createGeminiJudge({ apiKey: "", fallback: overlapFallback, log: () => {} });
  const p = await probeMasterKeys(judge, PROMPTS);
  assertEquals(p.fallbacks, p.n);
  // "What is the capital of France?" shares most words with "The capital of France is Paris."
  assertEquals(p.passRate, 1 / 20);
  assert(p.meanScore < 1, `overlap fallback mean master-key score ${p.meanScore}`);
});

Deno.test("probeMasterKeys: runs against the local LM judge on the embedded model", async () => {
  const model = await CausalLM.load(join(new URL("../../data/tiny/", import.meta.url).pathname), {
    device: "cpu",
    threads: 1,
  });
  try {
    // A short rubric: the embedded model's context is small.
    const local = localJudgeFallback(model, { rubric: "Score the response from 0 to 10." });
    const judge = createGeminiJudge({ apiKey: "", fallback: local, log: () => {} });
    const p = await probeMasterKeys(judge, PROMPTS, { maxPrompts: 1 });
    assertEquals(p.n, MASTER_KEYS.length + 1);
    assertEquals(p.fallbacks, p.n);
    assertEquals(local.stats.calls, p.n);
    assert(p.meanScore >= 0 && p.meanScore <= 10, `${p.meanScore}`);
  } finally {
    await model.release();
  }
});

Deno.test("probeMasterKeys: a judge answering the wrong number of scores is a one-line error", async () => {
  await assertRejects(() => probeMasterKeys({ score: () => Promise.resolve([{ score: 1 }]) }, PROMPTS), {
    cls: UserError,
    includes: "returned 1 scores for 20 items",
  });
  await assertRejects(
    () => probeMasterKeys({ score: (items) => Promise.resolve(items.map(() => ({ score: NaN }))) }, PROMPTS),
    { cls: UserError, includes: "non-finite" },
  );
  assertAlmostEquals(
    (await probeMasterKeys({
      score: (items) => Promise.resolve(items.map((_, i) => ({ score: i % 2 ? 8 : 0 }))),
    }, PROMPTS))
      .passRate,
    0.5,
  );
});
