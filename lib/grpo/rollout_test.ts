import { join } from "node:path";
import { loadTokenizer } from "../model/mod.ts";
import { assert, assertEquals } from "../util/assert.ts";
import { assembleBatch, DataOrder, encodePrompt } from "./rollout.ts";
import { writeTinyChatModel } from "./testing.ts";

Deno.test("assembleBatch: prompts left-padded, completions right-padded, mask on completion tokens", () => {
  const { batch, completionMask, promptWidth } = assembleBatch([[1, 2], [3]], [[7], [8, 9, 4]], { pad: 0 });
  assertEquals([batch.batch, batch.length, promptWidth], [2, 5, 2]);
  assertEquals(batch.ids, [1, 2, 7, 0, 0, 0, 3, 8, 9, 4]);
  assertEquals(batch.mask, [1, 1, 1, 0, 0, 0, 1, 1, 1, 1]);
  assertEquals([...completionMask], [0, 0, 1, 0, 0, 0, 0, 1, 1, 1]);
  const empty = assembleBatch([[1]], [[]], { pad: 0 });
  assertEquals([empty.batch.length, [...empty.completionMask]], [2, [0, 0]]);
});

Deno.test("DataOrder: each epoch is a seeded permutation; positions determine what comes next", () => {
  const a = new DataOrder(5, 3), b = new DataOrder(5, 3), c = new DataOrder(5, 4);
  const first = a.indices(0, 10);
  assertEquals(first, b.indices(0, 10));
  assertEquals([...first.slice(0, 5)].sort(), [0, 1, 2, 3, 4]);
  assertEquals([...first.slice(5)].sort(), [0, 1, 2, 3, 4]);
  assert(first.slice(0, 5).join() !== first.slice(5).join(), "epochs are shuffled differently");
  assertEquals(new DataOrder(5, 3).indices(7, 3), first.slice(7, 10));
  assert(c.indices(0, 10).join() !== first.join(), "seeds differ");
});

Deno.test("encodePrompt: chat template, left truncation flagged", async () => {
  const dir = await Deno.makeTempDir();
  await writeTinyChatModel(join(dir, "m"));
  const tok = await loadTokenizer(join(dir, "m"));
  const msgs = [{ role: "user", content: "Mia has 5 apples." }];
  const full = encodePrompt(tok, msgs, { maxLength: 1000 });
  assertEquals(full.text, "<|user|>\nMia has 5 apples.<|end|>\n<|assistant|>\n");
  assertEquals(full.truncated, false);
  const cut = encodePrompt(tok, msgs, { maxLength: 4 });
  assertEquals([cut.truncated, cut.ids], [true, full.ids.slice(-4)]);
  assertEquals(cut.text, full.text);
  await Deno.remove(dir, { recursive: true });
});
