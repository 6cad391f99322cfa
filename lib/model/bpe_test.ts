import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertThrows } from "../util/assert.ts";
import { Rng, UserError } from "../util/mod.ts";
import { TINY_SPECIAL_TOKENS, trainBpe, writeTokenizerFiles } from "./bpe.ts";
import { loadTokenizer, type Tokenizer } from "./tokenizer.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-model-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
const tempDir = () => Deno.makeTempDir({ dir: ROOT });

const NAMES = ["Tom", "Anna", "Lee", "Maria", "José"];
const THINGS = ["apples", "pears", "books", "coins", "cafés"];

function sample(rng: Rng): string {
  const a = rng.int(100), b = rng.int(100), name = rng.pick(NAMES), thing = rng.pick(THINGS);
  switch (rng.int(4)) {
    case 0:
      return `<reasoning>\n${a} + ${b} = ${a + b}\n</reasoning>\n<answer>${a + b}</answer>`;
    case 1:
      return `${name} has ${a} ${thing}.`;
    case 2:
      return `${name} buys ${b} more ${thing}. Now ${name} has ${a + b} ${thing}!\n\n  It's ${a * b}\tcents.`;
    default:
      return `<|user|>\nWhat is ${a} - ${b}?<|end|>\n<|assistant|>\n<answer>${a - b}</answer><|end|>\n`;
  }
}

const TEXTS = (() => {
  const rng = new Rng(1);
  return Array.from({ length: 400 }, () => sample(rng));
})();

let cached: { dir: string; tok: Tokenizer } | null = null;
async function trained(): Promise<{ dir: string; tok: Tokenizer }> {
  if (cached) return cached;
  const dir = await tempDir();
  await writeTokenizerFiles(dir, trainBpe(TEXTS, { vocabSize: 180 }));
  cached = { dir, tok: await loadTokenizer(dir) };
  return cached;
}

Deno.test("bpe: training is deterministic, fills the vocabulary and learns merges", () => {
  const a = trainBpe(TEXTS, { vocabSize: 180 });
  const b = trainBpe([...TEXTS], { vocabSize: 180 });
  assertEquals(JSON.stringify(a), JSON.stringify(b));
  const vocab = a.model.vocab;
  assertEquals(Object.keys(vocab).length, 180);
  assertEquals(new Set(Object.values(vocab)).size, 180);
  assertEquals(Math.max(...Object.values(vocab)), 179);
  assertEquals(
    a.added_tokens.map((t) => [t.id, t.content]),
    [...TINY_SPECIAL_TOKENS, "<unk>"].map((t, i) => [i, t]),
  );
  assert(a.model.merges.length > 50, `merges: ${a.model.merges.length}`);
  assert(a.model.merges.every((m) => m.split(" ").length === 2));
  // no merge ever touches a digit
  assert(a.model.merges.every((m) => !/\d/.test(m)));
  // a small corpus runs out of frequent pairs before a huge target
  const small = trainBpe(["ab ab ab"], { vocabSize: 5000 });
  assert(Object.keys(small.model.vocab).length < 200);
  assertThrows(() => trainBpe(TEXTS, { vocabSize: 20 }), {
    cls: UserError,
    includes: "smaller than 6 special tokens",
  });
});

Deno.test("bpe: encode/decode round-trips 100 strings exactly, newlines and spacing included", async () => {
  const { tok } = await trained();
  const rng = new Rng(7);
  const strings = [
    "",
    " ",
    "\n",
    "\n\n\n",
    "  leading spaces",
    "trailing spaces   ",
    "tab\tseparated\tvalues",
    "windows\r\nline\r\nends",
    "José has 5 cafés.",
    "It's Tom's, they're here, we've done it, I'm sure, you'll see, he'd go",
    "<|user|>\nhi<|end|>\n<|assistant|>\n",
    "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./",
    "1234567890 0.5 -3 1,000,000",
  ];
  while (strings.length < 100) strings.push(sample(rng) + (rng.int(2) ? "\n" : ""));
  for (const s of strings) {
    const ids = tok.encode(s);
    assertEquals(tok.decode(ids), s, { msg: `round trip of ${JSON.stringify(s)}` });
    assert(!ids.includes(tok.tokenToId("<unk>")!), `no <unk> in ${JSON.stringify(s)}`);
  }
  // merges compress the training distribution
  const s = "Tom buys 3 more apples. Now Tom has 7 apples!";
  assert(tok.encode(s).length < s.length / 2, `${tok.encode(s).length} tokens for ${s.length} chars`);
  assertEquals(tok.skippedIds, 0);
});

Deno.test("bpe: every digit is its own token; special tokens are single ids", async () => {
  const { tok } = await trained();
  const ids = tok.encode("In 2024, 1234567 + 89 = 1234656 and x9y");
  const pieces = ids.map((id) => tok.decode([id]));
  assertEquals(pieces.join(""), "In 2024, 1234567 + 89 = 1234656 and x9y");
  for (const p of pieces) if (/\d/.test(p)) assertEquals(p.length, 1, { msg: `token ${JSON.stringify(p)}` });
  assertEquals(pieces.filter((p) => /\d/.test(p)).length, 4 + 7 + 2 + 7 + 1);
  const specials = [...TINY_SPECIAL_TOKENS, "<unk>"];
  specials.forEach((t, i) => {
    assertEquals(tok.tokenToId(t), i);
    assertEquals(tok.encode(t), [i]);
  });
  assertEquals(tok.encode("<|assistant|>\n<|end|>").filter((id) => id < 6), [3, 4]);
  assertEquals(tok.eosTokenIds, [0]);
  assertEquals(tok.padTokenId, 0);
  assertEquals(tok.bosTokenId, undefined);
  assertEquals(tok.vocabSize, 180);
  assertEquals(tok.decode(tok.encode("<|user|>\nhi<|end|>\n"), { skipSpecialTokens: true }), "\nhi\n");
  // a character never seen is <unk>, visibly
  assertEquals(tok.encode("€"), [5, 5, 5]);
});

Deno.test("bpe: the chat template renders the tiny format", async () => {
  const { tok } = await trained();
  const msgs = [
    { role: "system", content: "Be brief." },
    { role: "user", content: "What is 2 + 3?" },
    { role: "assistant", content: "<answer>5</answer>" },
    { role: "user", content: "And 4 + 4?" },
  ];
  const base = "<|system|>\nBe brief.<|end|>\n<|user|>\nWhat is 2 + 3?<|end|>\n" +
    "<|assistant|>\n<answer>5</answer><|end|>\n<|user|>\nAnd 4 + 4?<|end|>\n";
  assertEquals(tok.applyChatTemplate(msgs), base + "<|assistant|>\n");
  assertEquals(tok.applyChatTemplate(msgs, { addGenerationPrompt: false }), base);
  const rendered = tok.applyChatTemplate(msgs);
  assertEquals(tok.decode(tok.encode(rendered)), rendered);
  assertThrows(() => tok.applyChatTemplate([{ role: "tool", content: "x" }]), {
    cls: UserError,
    includes: "unsupported chat role: tool",
  });
});

Deno.test("bpe: writeTokenizerFiles writes both files and checks its token names", async () => {
  const { dir } = await trained();
  const config = JSON.parse(await Deno.readTextFile(join(dir, "tokenizer_config.json")));
  assertEquals([config.eos_token, config.pad_token, config.unk_token, config.bos_token], [
    "<|endoftext|>",
    "<|endoftext|>",
    "<unk>",
    null,
  ]);
  assertEquals(config.additional_special_tokens, ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]);
  assertEquals(config.clean_up_tokenization_spaces, false);
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
    "tokenizer.json",
    "tokenizer_config.json",
  ]);
  const other = await tempDir();
  await assertRejects(
    () => writeTokenizerFiles(other, trainBpe(["a b"], { vocabSize: 200 }), { eosToken: "</s>" }),
    { cls: UserError, includes: `eosToken "</s>" is not a special token` },
  );
});
