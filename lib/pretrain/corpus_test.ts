import { buildCorpus, heldOutProblems, tokenizePair } from "./corpus.ts";
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
