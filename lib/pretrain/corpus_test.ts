import { ANSWER_STYLES, buildCorpus, heldOutProblems, styledMathTarget, tokenizePair } from "./corpus.ts";
import { formatMathTarget, generateMathProblems } from "../data/mod.ts";
import { isCorrect } from "../rewards/mod.ts";
import { loadTokenizer, trainBpe, writeTokenizerFiles } from "../model/mod.ts";
import { assert, assertEquals } from "../util/assert.ts";

Deno.test("the corpus is deterministic and never contains a held-out question", () => {
  const held = heldOutProblems(200, 0);
  const a = buildCorpus({ seed: 0, math: 3000, dialogue: 100 }, held);
  const b = buildCorpus({ seed: 0, math: 3000, dialogue: 100 }, held);
  assertEquals(a, b);
  const questions = new Set(a.filter((p) => p.kind === "math").map((p) => p.messages[1].content));
  assert(held.every((p) => !questions.has(p.question)));
  assert(a.some((p) => p.completion.startsWith("<reasoning>")));
});

Deno.test("tokenizePair puts loss on the completion and its end marker only", async () => {
  const pairs = buildCorpus({ seed: 1, math: 50, dialogue: 10 });
  const dir = await Deno.makeTempDir();
  await writeTokenizerFiles(
    dir,
    trainBpe(pairs.flatMap((p) => [p.completion, ...p.messages.map((m) => m.content)]), { vocabSize: 300 }),
  );
  const tok = await loadTokenizer(dir);
  const t = tokenizePair(tok, pairs[0]);
  const first = t.lossMask.indexOf(1);
  assert(first > 0 && t.lossMask.slice(first).every((m) => m === 1));
  assertEquals(tok.decode(t.ids.slice(first)), pairs[0].completion + "<|end|>");
});

Deno.test("stage 2 corpus: same problems, answer styles mixed at the requested share, every style gradable leniently", () => {
  const held = heldOutProblems(50, 0);
  const s1 = buildCorpus({ seed: 0, math: 4000, dialogue: 10 }, held);
  const s2 = buildCorpus({ seed: 0, math: 4000, dialogue: 10, taggedShare: 0.4 }, held);
  assertEquals(s2.map((p) => p.messages), s1.map((p) => p.messages), {
    msg: "same prompts in the same order",
  });
  const math = s2.filter((p) => p.kind === "math");
  const tagged = math.filter((p) => p.completion.includes("<answer>")).length / math.length;
  assert(tagged > 0.37 && tagged < 0.43, `tagged share ${tagged}`);
  const ends = math.map((p) => p.completion.split("\n").at(-1)!);
  for (const re of [/^The answer is \d+\.$/, /^#### \d+$/, /^\d+$/]) {
    const share = ends.filter((l) => re.test(l)).length / math.length;
    assert(share > 0.17 && share < 0.23, `${re} share ${share}`);
  }
  const gold = generateMathProblems(4000, { seed: 0 }).filter((p) =>
    !held.some((h) => h.question === p.question)
  );
  math.forEach((p, i) => {
    assert(isCorrect(p.completion, gold[i].answer, { rule: "lenient" }), `lenient reads ${p.completion}`);
    assertEquals(isCorrect(p.completion, gold[i].answer), p.completion.includes("<answer>"));
  });
  const s1math = s1.filter((p) => p.kind === "math");
  assert(
    s1math.every((p) => p.completion === formatMathTarget(gold[s1math.indexOf(p)])),
    "stage 1 unchanged",
  );
  for (const st of ANSWER_STYLES) {
    assert(styledMathTarget(gold[0], st).startsWith(gold[0].solution!.split("\n")[0]) || st === "tagged");
  }
});
