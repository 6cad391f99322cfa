import { join } from "node:path";
import { existsSync } from "node:fs";
import { CausalLM } from "../model/mod.ts";
import { createGeminiJudge } from "../judge/mod.ts";
import { startFakeGemini } from "../judge/fake_gemini.ts";
import { readJsonLines, UserError } from "../util/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../util/assert.ts";
import {
  EXPERIMENT_IDS,
  experimentConfig,
  experimentData,
  EXPERIMENTS,
  getExperiment,
  runExperiment,
} from "./experiments.ts";
import type { MetricsRow } from "../grpo/mod.ts";
import type { MathExample } from "../data/mod.ts";
import { writeTinyChatModel } from "../rewards/testing.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-experiments-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
const MODEL = join(ROOT, "model");
await writeTinyChatModel(MODEL);
const model = await CausalLM.load(MODEL, { device: "cpu", threads: 1 });

const small = (out: string, extra: Record<string, unknown> = {}) => ({
  model: MODEL,
  device: "cpu",
  threads: 1,
  output_dir: join(ROOT, out),
  max_steps: 2,
  per_device_train_batch_size: 4,
  num_generations: 2,
  max_prompt_length: 64,
  max_completion_length: 6,
  eval_size: 3,
  eval_steps: 2,
  save_steps: 0,
  ...extra,
});
const quiet = { model, print: false, handleSigint: false, log: () => {} };

Deno.test("the experiments, their rewards, and an unknown id → UserError listing the known ones", () => {
  assertEquals(Object.keys(EXPERIMENTS), [...EXPERIMENT_IDS]);
  const rewards = EXPERIMENT_IDS.map((id) => experimentConfig(id).reward_funcs);
  assertEquals(rewards, [
    ["math_hard", "format"],
    ["math_soft", "format"],
    ["perplexity", "format"],
    ["format"],
    ["random"],
    ["gemini_hard"],
    ["gemini_soft"],
    ["perplexity"],
    ["reference_likelihood_debiased", "format"],
    ["reference_likelihood"],
    ["random"],
  ]);
  assertEquals(
    EXPERIMENT_IDS.map((id) => getExperiment(id).task),
    [
      "math",
      "math",
      "math",
      "math",
      "math",
      "dialogue",
      "dialogue",
      "dialogue",
      "math",
      "dialogue",
      "dialogue",
    ],
  );
  assertEquals(experimentConfig("math_soft").output_dir, "outputs/math_soft_seed42");
  assertEquals(experimentConfig("math_soft", { seed: 7 }).output_dir, "outputs/math_soft_seed7");
  assertEquals(
    [getExperiment("math_perplexity").perplexity, getExperiment("dialogue_perplexity").perplexity],
    [
      "policy",
      "frozen",
    ],
  );
  assertThrows(() => getExperiment("math_medium"), {
    cls: UserError,
    includes: "known experiments: math_hard, math_soft",
  });
  assertThrows(() => experimentConfig("math_hard", { max_stpes: 3 }), {
    cls: UserError,
    includes: '"max_stpes"',
  });
});

Deno.test("an invalid option fails before any work (no output folder)", async () => {
  const out = join(ROOT, "never");
  await assertRejects(
    () => runExperiment("math_hard", { ...quiet, params: small("never", { num_generations: 3 }) }),
    { cls: UserError, includes: "not divisible by num_generations" },
  );
  assertEquals(existsSync(out), false);
});

Deno.test("experimentData: held-out split disjoint from training, math answers, plain dialogue prompts", async () => {
  const cfg = experimentConfig("math_hard", { eval_size: 50 });
  const lines: string[] = [];
  const m = await experimentData(getExperiment("math_hard"), cfg, { log: (l) => lines.push(l) });
  assertEquals(m.heldOut.length, 50);
  const dup = lines.find((l) => l.includes("duplicates"));
  assert(dup, "the generated math pool has duplicate prompts, reported with the total");
  {
    const [, k, n, left] = /(\d+) of (\d+) prompts were duplicates.*\((\d+) distinct left\)/.exec(dup)!;
    assertEquals(Number(n), 4000, { msg: dup });
    assertEquals(Number(k) + Number(left), Number(n), { msg: dup });
    assertEquals(m.train.length + 50, Number(left), { msg: dup });
  }
  const held = new Set((m.heldOut as MathExample[]).map((p) => p.question));
  assert(m.train.every((t) => !held.has(t.messages.at(-1)!.content)), "no held-out question is trained on");
  assert(m.train.every((t) => typeof t.answer === "string"));
  const again = await experimentData(getExperiment("math_hard"), cfg, { log: () => {} });
  assertEquals(again.heldOut, m.heldOut);
  const other = await experimentData(getExperiment("math_hard"), { ...cfg, seed: 1 }, { log: () => {} });
  assert(JSON.stringify(other.heldOut) !== JSON.stringify(m.heldOut), "the split depends on the seed");
  const d = await experimentData(getExperiment("dialogue_soft"), experimentConfig("dialogue_soft"), {
    log: () => {},
  });
  assertEquals(d.heldOut.length, 100);
  assert(d.train.every((t) => t.reference && t.promptText && !t.promptText.includes("<|")));
  await assertRejects(() => experimentData(getExperiment("math_hard"), { ...cfg, dataset: "alpaca" }), {
    cls: UserError,
    includes: "dialogue data",
  });
  await assertRejects(
    () => experimentData(getExperiment("math_hard"), { ...cfg, eval_size: 5000 }, { log: () => {} }),
    { cls: UserError, includes: "eval_size = 5000 leaves no training examples" },
  );
});

Deno.test("math_hard: strict, lenient, format and mean@k with intervals at step 0 and at the end; rewards logged apart", async () => {
  const res = await runExperiment("math_hard", {
    ...quiet,
    params: small("math_hard", { eval_num_samples: 2 }),
  });
  const rows = (await readJsonLines<MetricsRow>(join(res.outputDir, "metrics.jsonl"))).rows;
  assertEquals(rows.map((r) => r.step), [0, 1, 2]);
  for (const row of [rows[0], rows[2]]) {
    for (const m of ["eval/accuracy", "eval/accuracy_lenient", "eval/format_rate", "eval/mean_at_k"]) {
      const v = row[m], lo = row[`${m}_ci_low`], hi = row[`${m}_ci_high`];
      assert(v !== undefined && lo <= v && v <= hi && 0 <= lo && hi <= 1, `${m} ${lo} ≤ ${v} ≤ ${hi}`);
    }
    assertEquals([row["eval/n"], row["eval/k"]], [3, 2]);
    assert(row["eval/accuracy"] <= row["eval/accuracy_lenient"], "strict never above lenient");
  }
  const state = JSON.parse(await Deno.readTextFile(join(res.outputDir, "trainer_state.json")));
  assert(
    JSON.stringify(state.log_history).includes("eval/mean_at_k_ci_high"),
    "intervals in trainer_state.json",
  );
  for (const k of ["rewards/math_hard/mean", "rewards/format/mean"]) assert(k in rows[1], k);
  const rc = JSON.parse(await Deno.readTextFile(join(res.outputDir, "run_config.json")));
  assertEquals([rc.experiment, rc.config.reward_funcs], ["math_hard", ["math_hard", "format"]]);
});

Deno.test("controls: math_format_only and math_random train and log only their own reward", async () => {
  for (const id of ["math_format_only", "math_random"]) {
    const res = await runExperiment(id, { ...quiet, params: small(id, { eval_size: 0 }) });
    const row = res.rows.at(-1)!;
    const names = Object.keys(row).filter((k) => k.startsWith("rewards/") && k.endsWith("/mean"));
    assertEquals(names, [`rewards/${id === "math_random" ? "random" : "format"}/mean`], { msg: id });
  }
  const a = await runExperiment("math_random", { ...quiet, params: small("rand_a", { eval_size: 0 }) });
  const b = await runExperiment("math_random", { ...quiet, params: small("rand_b", { eval_size: 0 }) });
  assertEquals(a.rows.map((r) => r["rewards/random/mean"]), b.rows.map((r) => r["rewards/random/mean"]), {
    msg: "seeded",
  });
});

Deno.test("re-running into a folder that holds a run stops with the run named; overwrite_output_dir replaces it", async () => {
  const params = small("taken", { save_steps: 1 });
  const first = await runExperiment("math_hard", { ...quiet, params });
  const before = await Deno.readTextFile(join(first.outputDir, "metrics.jsonl"));
  await assertRejects(() => runExperiment("math_hard", { ...quiet, params: { ...params, max_steps: 1 } }), {
    cls: UserError,
    includes:
      `output_dir ${first.outputDir} already holds a run (math_hard seed 42, last step 2 of 2); continue it with resume_from_checkpoint=latest, replace it with overwrite_output_dir=true, or give another output_dir`,
  });
  assertEquals(await Deno.readTextFile(join(first.outputDir, "metrics.jsonl")), before, {
    msg: "nothing touched",
  });
  assert(existsSync(join(first.outputDir, "checkpoint-2")), "checkpoints kept");
  const again = await runExperiment("math_hard", {
    ...quiet,
    params: { ...params, max_steps: 1, overwrite_output_dir: true },
  });
  assertEquals(again.step, 1);
  assertEquals(
    [existsSync(join(again.outputDir, "checkpoint-1")), existsSync(join(again.outputDir, "checkpoint-2"))],
    [true, false],
    { msg: "the old run was replaced" },
  );
});

Deno.test("math_perplexity: the policy scores perplexity; perplexity and format keep separate names", async () => {
  const res = await runExperiment("math_perplexity", {
    ...quiet,
    params: small("math_ppl", { eval_size: 0 }),
  });
  const row = res.rows.at(-1)!;
  assert(row["rewards/perplexity/mean"] > 0, `perplexity reward ${row["rewards/perplexity/mean"]}`);
  assert("rewards/format/mean" in row);
  assertEquals(Object.keys(row).filter((k) => k.startsWith("rewards/")).length, 4);
  assertPerplexityLogged(res.rows);
});

/** Issue 3: perplexity is logged under its own name, distinct from the format reward, and not constant. */
function assertPerplexityLogged(rows: MetricsRow[], options: { format?: boolean } = {}): void {
  const steps = rows.filter((r) => r.step > 0 && "rewards/perplexity/mean" in r);
  assert(steps.length >= 2, `need two training steps, got ${steps.length}`);
  const ppl = steps.map((r) => r["rewards/perplexity/mean"]);
  if (options.format ?? true) {
    const fmt = steps.map((r) => r["rewards/format/mean"]);
    assert(ppl.some((v, i) => v !== fmt[i]), `perplexity ${ppl} equals format ${fmt} at every step`);
  } else assert(steps.every((r) => !("rewards/format/mean" in r)), "no format reward");
  assert(new Set(ppl).size > 1, `perplexity reward constant over steps: ${ppl}`);
}

Deno.test("dialogue_perplexity: the frozen scorer sees each prompt in its own chat layout and is released", async () => {
  const seen: string[] = [];
  let released = 0;
  const res = await runExperiment("dialogue_perplexity", {
    ...quiet,
    params: small("dial_ppl", { eval_size: 2, eval_steps: 0 }),
    judge: createGeminiJudge({ apiKey: "", log: () => {} }),
    frozenScorer: (idOrDir) => {
      assertEquals(idOrDir, MODEL);
      return Promise.resolve({
        name: "fake",
        layout: (userTurn: string) => `[user]${userTurn}[assistant]`,
        perplexities: (prompts: string[], completions: string[]) => {
          seen.push(...prompts);
          return Promise.resolve(completions.map((c) => 10 + c.length));
        },
        release: () => Promise.resolve(void released++),
      });
    },
  });
  assert(seen.length >= 8, `scorer saw ${seen.length} prompts`);
  assert(
    seen.every((p) => p.startsWith("[user]") && p.endsWith("[assistant]") && !p.includes("<|")),
    "the plain user turn in the scorer's layout",
  );
  assertEquals(released, 1);
  assertPerplexityLogged(res.rows, { format: false });
});

Deno.test("no dialogue arm carries the math format reward, and every dialogue arm has the dialogue control", () => {
  const dialogue = EXPERIMENT_IDS.filter((id) => getExperiment(id).task === "dialogue");
  for (const id of dialogue) {
    const r = experimentConfig(id).reward_funcs;
    assert(!r.some((n) => n.includes("format")), `${id}: ${r}`);
  }
  assertEquals(experimentConfig("dialogue_random").reward_funcs, ["random"]);
});

/** Issue 9 §5: a reward is logged under its own name, neither constant over steps nor equal to another column. */
function assertOwnColumn(rows: MetricsRow[], name: string): void {
  const steps = rows.filter((r) => r.step > 0 && `rewards/${name}/mean` in r);
  assert(steps.length >= 2, `need two training steps, got ${steps.length}`);
  const mine = steps.map((r) => r[`rewards/${name}/mean`]);
  assert(new Set(mine).size > 1, `${name} constant over steps: ${mine}`);
  for (const other of Object.keys(steps[0]).filter((k) => k.startsWith("rewards/") && k.endsWith("/mean"))) {
    if (other === `rewards/${name}/mean`) continue;
    const theirs = steps.map((r) => r[other]);
    assert(mine.some((v, i) => v !== theirs[i]), `${name} equals ${other} at every step`);
  }
}

Deno.test("math_refprob: RLPR's debiased reward has its own column, varies, and differs from format", async () => {
  const res = await runExperiment("math_refprob", {
    ...quiet,
    params: small("math_refprob", { max_steps: 3, eval_size: 0 }),
  });
  const row = res.rows.at(-1)!;
  const v = row["rewards/reference_likelihood_debiased/mean"];
  assert(v >= 0 && v <= 2, `${v}`);
  assert("rewards/format/mean" in row);
  assertOwnColumn(res.rows, "reference_likelihood_debiased");
});

Deno.test("dialogue_refprob: references scored; every dialogue evaluation audits the judge with master keys", async () => {
  const res = await runExperiment("dialogue_refprob", {
    ...quiet,
    judge: createGeminiJudge({ apiKey: "", log: () => {} }),
    params: small("dial_refprob", { max_steps: 3 }),
  });
  assertOwnColumn(res.rows, "reference_likelihood");
  const evals = res.rows.filter((r) => "eval/judge_score" in r);
  assert(evals.length >= 2, `evaluations at step 0 and the end: ${evals.length}`);
  for (const r of evals) {
    assert(
      r["judge/master_key_score"] >= 0 && r["judge/master_key_score"] <= 10,
      `${r["judge/master_key_score"]}`,
    );
    assert(r["judge/master_key_pass_rate"] >= 0 && r["judge/master_key_pass_rate"] <= 1);
  }
});

Deno.test("dialogue_hard with a loopback Gemini: judge counters and eval/judge_score logged", async () => {
  const fake = startFakeGemini({ score: (req) => ((req.response ?? "").length % 11) });
  try {
    const judge = createGeminiJudge({ apiKey: "test-key", baseUrl: fake.baseUrl, log: () => {} });
    const res = await runExperiment("dialogue_hard", { ...quiet, judge, params: small("dial_hard") });
    const [start, , end] = res.rows;
    assert(start["eval/judge_score"] >= 0 && end["eval/judge_score"] <= 10, "scores 0–10");
    assertEquals(end["judge/calls"], 4);
    assertEquals(end["judge/fallback_frac"], 0);
    assert("rewards/gemini_hard/mean" in end);
    assert(fake.requests.every((r) => !r.user.includes("<|user|>")), "the judge sees the plain instruction");
    assert(!(await Deno.readTextFile(join(res.outputDir, "run_config.json"))).includes("test-key"));
  } finally {
    await fake.close();
  }
});
