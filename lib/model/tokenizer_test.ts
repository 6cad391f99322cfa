import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertThrows } from "../util/assert.ts";
import { UserError } from "../util/mod.ts";
import { trainBpe } from "./bpe.ts";
import { loadTokenizer, tokenizerFromJson } from "./tokenizer.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-model-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
const tempDir = () => Deno.makeTempDir({ dir: ROOT });

const CHATML = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
const CORPUS = Array.from(
  { length: 60 },
  (_, i) => `The answer to question ${i} is ${i * 7}.\nWe think it's right, don't we?  Yes!`,
);

/** A tokenizer.json with ChatML special tokens (ids 0..2) and a given pre-tokenizer. */
function chatmlTokenizer(preTokenizer: unknown): Record<string, unknown> {
  const t = trainBpe(CORPUS, { vocabSize: 160, specialTokens: CHATML, unkToken: "<|endoftext|>" });
  return { ...t, pre_tokenizer: preTokenizer };
}

const QWEN2_PRE = {
  type: "Sequence",
  pretokenizers: [
    {
      type: "Split",
      pattern: {
        Regex:
          "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      },
      behavior: "Isolated",
      invert: false,
    },
    { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
  ],
};
const SMOLLM2_PRE = {
  type: "Sequence",
  pretokenizers: [
    { type: "Digits", individual_digits: true },
    { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  ],
};

const QWEN25_TEMPLATE = `{%- if messages[0]['role'] == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
{%- else %}
    {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant") %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
`;
const SMOLLM2_TEMPLATE =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

async function writeModelDir(files: Record<string, unknown>): Promise<string> {
  const dir = await tempDir();
  for (const [name, value] of Object.entries(files)) {
    await Deno.writeTextFile(join(dir, name), typeof value === "string" ? value : JSON.stringify(value));
  }
  return dir;
}

Deno.test("tokenizer: a Qwen2.5-style folder (Qwen2Tokenizer, ChatML, generation_config eos list)", async () => {
  const dir = await writeModelDir({
    "tokenizer.json": {
      ...chatmlTokenizer(QWEN2_PRE),
      normalizer: { type: "NFC" },
      post_processor: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    },
    "tokenizer_config.json": {
      tokenizer_class: "Qwen2Tokenizer",
      bos_token: null,
      eos_token: "<|im_end|>",
      pad_token: "<|endoftext|>",
      unk_token: null,
      clean_up_tokenization_spaces: false,
      chat_template: QWEN25_TEMPLATE,
    },
    "generation_config.json": { eos_token_id: [2, 0] },
    "config.json": { eos_token_id: 2 },
  });
  const tok = await loadTokenizer(dir);
  assertEquals([tok.eosTokenIds, tok.padTokenId, tok.bosTokenId], [[2, 0], 0, undefined]);
  const text = tok.applyChatTemplate([{ role: "user", content: "What is 12 + 30?" }]);
  assertEquals(
    text,
    "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
      "<|im_start|>user\nWhat is 12 + 30?<|im_end|>\n<|im_start|>assistant\n",
  );
  const ids = tok.encode(text);
  assertEquals(ids.filter((id) => id <= 2), [1, 2, 1, 2, 1]);
  assertEquals(tok.decode(ids), text);
  for (const s of ["It's 42, isn't it?\n\n  ok ", "We'LL see", "a\tb\r\nc"]) {
    assertEquals(tok.decode(tok.encode(s)), s);
  }
});

Deno.test("tokenizer: a SmolLM2-style folder (GPT2Tokenizer, Digits + ByteLevel regex, bos/eos/pad)", async () => {
  const dir = await writeModelDir({
    "tokenizer.json": chatmlTokenizer(SMOLLM2_PRE),
    "tokenizer_config.json": {
      tokenizer_class: "GPT2Tokenizer",
      bos_token: "<|im_start|>",
      eos_token: "<|im_end|>",
      pad_token: "<|im_end|>",
      unk_token: "<|endoftext|>",
      clean_up_tokenization_spaces: false,
      chat_template: SMOLLM2_TEMPLATE,
    },
  });
  const tok = await loadTokenizer(dir);
  assertEquals([tok.eosTokenIds, tok.padTokenId, tok.bosTokenId], [[2], 2, 1]);
  const text = tok.applyChatTemplate([{ role: "user", content: "Hi" }], { addGenerationPrompt: false });
  assertEquals(
    text,
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n" +
      "<|im_start|>user\nHi<|im_end|>\n",
  );
  const ids = tok.encode("The answer is 1234.");
  assertEquals(tok.decode(ids), "The answer is 1234.");
  assertEquals(ids.map((id) => tok.decode([id])).filter((p) => /\d/.test(p)), ["1", "2", "3", "4"]);
  assertEquals(tok.decode(tok.encode("<|im_start|>x<|im_end|>"), { skipSpecialTokens: true }), "x");
});

Deno.test("tokenizer: addSpecialTokens runs the post-processor; unknown ids are skipped and counted", () => {
  const json = {
    ...chatmlTokenizer(QWEN2_PRE),
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<|im_start|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [],
      special_tokens: { "<|im_start|>": { id: "<|im_start|>", ids: [1], tokens: ["<|im_start|>"] } },
    },
  };
  const tok = tokenizerFromJson(json, { eos_token: "<|im_end|>" }, { source: "mem" });
  const plain = tok.encode("answer");
  assertEquals(tok.encode("answer", { addSpecialTokens: true }), [1, ...plain]);
  assertEquals(tok.decode([]), "");
  assertEquals(tok.decode([...plain, 99999, -1]), "answer");
  assertEquals(tok.skippedIds, 2);
  assertEquals(tok.tokenToId("<|im_end|>"), 2);
  assertEquals(tok.tokenToId("no such token"), undefined);
  assertThrows(() => tok.applyChatTemplate([{ role: "user", content: "x" }]), {
    cls: UserError,
    includes: "mem: tokenizer has no chat_template",
  });
  assert(tok.vocabSize >= 100);
});

Deno.test("tokenizer: missing or corrupt files give UserErrors naming them", async () => {
  const empty = await tempDir();
  await assertRejects(() => loadTokenizer(empty), {
    cls: UserError,
    includes: `model folder ${empty} has no tokenizer.json`,
  });
  const bad = await writeModelDir({ "tokenizer.json": "{not json" });
  await assertRejects(() => loadTokenizer(bad), {
    cls: UserError,
    includes: `${bad}/tokenizer.json: not valid JSON`,
  });
  const broken = await writeModelDir({ "tokenizer.json": { model: { type: "BPE" } } });
  await assertRejects(() => loadTokenizer(broken), {
    cls: UserError,
    includes: `${broken}/tokenizer.json: cannot load tokenizer`,
  });
  const badConfig = await writeModelDir({
    "tokenizer.json": chatmlTokenizer(QWEN2_PRE),
    "tokenizer_config.json": "[1]",
  });
  await assertRejects(() => loadTokenizer(badConfig), {
    cls: UserError,
    includes: "tokenizer_config.json: not a JSON object",
  });
  const noEos = await writeModelDir({ "tokenizer.json": chatmlTokenizer(QWEN2_PRE) });
  await assertRejects(() => loadTokenizer(noEos), {
    cls: UserError,
    includes: "neither a pad_token nor an eos_token",
  });
});
