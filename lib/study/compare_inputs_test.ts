import { join } from "node:path";
import { dialogueMessages, generateDialogues, generateMathProblems } from "../data/mod.ts";
import { buildCorpus } from "../pretrain/mod.ts";
import { defaultOutputDir, UserError, writeJsonAtomic } from "../util/mod.ts";
import { assert, assertEquals, assertThrows } from "../util/assert.ts";
import { GENERATED_DIALOGUE_SEED, GENERATED_MATH_SEED, GENERATED_POOL } from "./experiments.ts";
import { findAdapters, freshTestSets, pretrainSeedOf } from "./compare_inputs.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "study-compare-inputs-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

async function adapterFiles(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "adapter_config.json"), "{}");
  await Deno.writeTextFile(join(dir, "adapter_model.safetensors"), "");
}

Deno.test("findAdapters: the latest checkpoint with an adapter (or an adapter folder); runs without one are listed", async () => {
  const out = join(ROOT, "outputs");
  await writeJsonAtomic(join(out, "math_hard", "run_config.json"), { experiment: "math_hard", seed: 42 });
  await adapterFiles(join(out, "math_hard", "checkpoint-4"));
  await adapterFiles(join(out, "math_hard", "checkpoint-10"));
  await Deno.mkdir(join(out, "math_hard", "checkpoint-12")); // incomplete: no adapter files
  await adapterFiles(join(out, "seeds", "dialogue_soft_seed3", "adapter"));
  await writeJsonAtomic(join(out, "seeds", "dialogue_soft_seed3", "run_config.json"), {
    experiment: "dialogue_soft",
    seed: 3,
  });
  await writeJsonAtomic(join(out, "empty_run", "run_config.json"), { experiment: "math_soft", seed: 42 });
  await Deno.mkdir(join(out, "notebooks"), { recursive: true });
  await Deno.mkdir(join(out, "zz_bad"), { recursive: true });
  await Deno.writeTextFile(join(out, "zz_bad", "run_config.json"), "{ not json");
  const found = await findAdapters(out);
  assertEquals(
    found.adapters.map((a) => [a.name, a.dir.slice(out.length + 1), a.step, a.experiment, a.seed]),
    [
      ["math_hard", "math_hard/checkpoint-10", 10, "math_hard", 42],
      ["seeds/dialogue_soft_seed3", "seeds/dialogue_soft_seed3/adapter", null, "dialogue_soft", 3],
    ],
  );
  assertEquals(found.skipped.map((s) => [s.dir.slice(out.length + 1), s.reason.split(" (")[0]]), [
    ["empty_run", "no adapter"],
    ["zz_bad", "run_config.json unreadable"],
  ]);
  const none = await findAdapters(join(ROOT, "missing"));
  assertEquals([none.adapters, none.skipped[0].reason], [[], "no such folder (no runs yet)"]);
});

Deno.test("freshTestSets: fixed sets that no training split holds", async () => {
  const a = freshTestSets({ math: 30, dialogue: 15 });
  assertEquals([a.problems.length, a.prompts.length], [30, 15]);
  assertEquals(freshTestSets({ math: 30, dialogue: 15 }).problems, a.problems, {
    msg: "same arguments, same sets",
  });
  const seenMath = new Set([
    ...generateMathProblems(GENERATED_POOL, { seed: GENERATED_MATH_SEED }).map((p) => p.question),
    ...buildCorpus({ seed: 0 }).filter((p) => p.kind === "math").map((p) => p.messages[1].content),
  ]);
  assert(a.problems.every((p) => !seenMath.has(p.question)), "a math problem is in a training split");
  const seenDialogue = new Set([
    ...generateDialogues(GENERATED_POOL, { seed: GENERATED_DIALOGUE_SEED }).map((d) =>
      dialogueMessages(d)[0].content
    ),
    ...buildCorpus({ seed: 0 }).filter((p) => p.kind === "dialogue").map((p) => p.messages[0].content),
  ]);
  const texts = a.prompts.map((d) => dialogueMessages(d)[0].content);
  assert(texts.every((t) => !seenDialogue.has(t)), "a dialogue prompt is in a training split");
  assertEquals(new Set(texts).size, texts.length, { msg: "prompts are distinct" });
  assert(a.excluded.dialogue > 0, "the dialogue generator repeats training prompts, and they were excluded");
  assertEquals(a.pretrainSeed, 0);
  await writeJsonAtomic(join(ROOT, "pretrained", "pretrain_log.json"), { options: { seed: 5 }, log: [] });
  assertEquals([pretrainSeedOf(join(ROOT, "pretrained")), pretrainSeedOf(join(ROOT, "nothing"))], [5, null]);
  assertThrows(() => freshTestSets({ math: -1 }), {
    cls: UserError,
    includes: "math must be an integer ≥ 0",
  });
  assertThrows(() => freshTestSets({ math: 0, dialogue: 20_000 }), {
    cls: UserError,
    includes: "dialogue prompts: only",
  });
});

Deno.test("findAdapters: finds a run in its default folder for every seed (outputs/<id>_seed<seed>)", async () => {
  const out = join(ROOT, "defaults");
  for (const seed of [42, 7]) {
    const dir = defaultOutputDir("math_hard", seed, { outputsDir: out });
    await writeJsonAtomic(join(dir, "run_config.json"), { experiment: "math_hard", seed });
    await adapterFiles(join(dir, "checkpoint-3"));
  }
  const found = await findAdapters(out);
  assertEquals(found.adapters.map((a) => [a.name, a.seed]), [["math_hard_seed42", 42], [
    "math_hard_seed7",
    7,
  ]]);
});
