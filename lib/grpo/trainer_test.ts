import { join } from "node:path";
import { CausalLM } from "../model/mod.ts";
import { readJsonLines, UserError } from "../util/mod.ts";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";
import type { RewardFunction } from "../rewards/mod.ts";
import { resolveConfig } from "./config.ts";
import type { GrpoConfig } from "./config_table.ts";
import type { MetricsRow } from "./logging.ts";
import { StopSignal } from "./stop.ts";
import { tinyMathExamples, writeTinyChatModel } from "./testing.ts";
import { train, type TrainOptions } from "./trainer.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-trainer-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
const MODEL = join(ROOT, "model");
await writeTinyChatModel(MODEL);
const model = await CausalLM.load(MODEL, { device: "cpu", threads: 1 });

/** Rewards that vary between samples of a random model, so advantages and gradients are not zero. */
const REWARDS: RewardFunction[] = [
  { name: "digits", fn: (ctx) => ctx.completions.map((c) => (c.match(/\d/g) ?? []).length / 4) },
  { name: "short", fn: (ctx) => Promise.resolve(ctx.completions.map((c) => (c.length < 20 ? 1 : 0))) },
];
const EXAMPLES = tinyMathExamples(24);

function config(out: string, extra: Record<string, unknown> = {}): GrpoConfig {
  return resolveConfig({
    model: MODEL,
    device: "cpu",
    threads: 1,
    output_dir: out,
    reward_funcs: ["digits", "short"],
    max_steps: 3,
    per_device_train_batch_size: 4,
    num_generations: 2,
    max_prompt_length: 48,
    max_completion_length: 8,
    learning_rate: 0.05,
    warmup_ratio: 0,
    beta: 0.04,
    save_steps: 2,
    eval_steps: 2,
    eval_size: 4,
    ...extra,
  }, { extraRewards: ["digits", "short"] });
}

const run = (cfg: GrpoConfig, extra: Partial<TrainOptions> = {}) =>
  train(cfg, {
    experiment: "unit",
    examples: EXAMPLES,
    rewards: REWARDS,
    model,
    print: false,
    handleSigint: false,
    log: () => {},
    evaluate: (_m, lora) => Promise.resolve({ "eval/accuracy": lora.tensors.size / 100 }),
    ...extra,
  });

const KEY = ["loss", "reward", "grad_norm", "reward_std", "kl", "entropy"];
const pick = (rows: readonly MetricsRow[]) =>
  rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k === "step" || KEY.includes(k))));

Deno.test("a 3-step run writes metrics.jsonl, trainer_state.json, completions.jsonl, run_config.json and checkpoints with TRL keys", async () => {
  const out = join(ROOT, "three");
  const logged: MetricsRow[] = [];
  const res = await run(config(out), { onLog: (r) => logged.push(r) });
  assertEquals(res.step, 3);
  assertEquals(res.stopped, false);
  const { rows } = await readJsonLines<MetricsRow>(join(out, "metrics.jsonl"));
  assertEquals(rows.map((r) => r.step), [0, 1, 2, 3]);
  assertEquals(rows, logged);
  assertEquals(Object.keys(rows[0]), ["step", "eval/accuracy", "timing/eval_s"]);
  const trl = [
    "loss",
    "reward",
    "reward_std",
    "rewards/digits/mean",
    "rewards/digits/std",
    "rewards/short/mean",
    "rewards/short/std",
    "completions/mean_length",
    "completions/min_length",
    "completions/max_length",
    "completions/clipped_ratio",
    "completions/mean_terminated_length",
    "kl",
    "entropy",
    "clip_ratio/low_mean",
    "clip_ratio/high_mean",
    "clip_ratio/region_mean",
    "frac_reward_zero_std",
    "learning_rate",
    "grad_norm",
    "num_tokens",
    "step_time",
    "timing/rollout_s",
    "timing/reward_s",
    "timing/train_s",
    "timing/eval_s",
  ];
  for (const r of rows.slice(1)) {
    for (const k of trl) {
      assert(typeof r[k] === "number" && Number.isFinite(r[k]), `step ${r.step}: ${k} = ${r[k]}`);
    }
  }
  assert(
    rows[2]["eval/accuracy"] !== undefined && rows[3]["eval/accuracy"] !== undefined,
    "eval at 2 and the end",
  );
  assert(rows[1]["eval/accuracy"] === undefined, "no eval at step 1");
  assert(rows[1]["timing/eval_s"] === 0 && rows[3]["timing/eval_s"] > 0, "eval time only where it ran");
  assert(rows[1]["timing/rollout_s"] > 0 && rows[1]["timing/train_s"] > 0, "rollout and train time logged");
  assert(rows[3].num_tokens > rows[1].num_tokens, "num_tokens is cumulative");
  assert(rows.slice(1).some((r) => r.grad_norm > 0), "gradients flow");
  const state = JSON.parse(await Deno.readTextFile(join(out, "trainer_state.json")));
  assertEquals(state.global_step, 3);
  assertEquals(state.log_history, rows);
  const comps = (await readJsonLines<Record<string, unknown>>(join(out, "completions.jsonl"))).rows;
  assertEquals(comps.length, 3 * 4);
  assertEquals(Object.keys(comps[0]).sort(), [
    "advantage",
    "completion",
    "gold",
    "prompt",
    "reward",
    "rewards",
    "step",
  ]);
  assertEquals(Object.keys(comps[0].rewards as object), ["digits", "short"]);
  const rc = JSON.parse(await Deno.readTextFile(join(out, "run_config.json")));
  assertEquals([rc.experiment, rc.seed, rc.config.max_steps], ["unit", 42, 3]);
  assertEquals(Object.keys(rc.versions).sort(), ["deno", "onnxruntime-node", "project"]);
  assert(typeof rc.started_at === "string");
  const ckpts = [...Deno.readDirSync(out)].map((e) => e.name).filter((n) => n.startsWith("checkpoint"))
    .sort();
  assertEquals(ckpts, ["checkpoint-2", "checkpoint-3"]);
  const files = [...Deno.readDirSync(join(out, "checkpoint-3"))].map((e) => e.name).sort();
  assertEquals(files, [
    "adapter_config.json",
    "adapter_model.safetensors",
    "optimizer.json",
    "optimizer.safetensors",
    "trainer_state.json",
    "training_state.json",
  ]);
  assert(![...Deno.readDirSync(out)].some((e) => e.name.endsWith(".tmp")), "no temp folders left");
});

Deno.test("same seed → identical metrics and adapter; another seed differs", async () => {
  const a = await run(config(join(ROOT, "det-a"), { save_steps: 0 }));
  const b = await run(config(join(ROOT, "det-b"), { save_steps: 0 }));
  const c = await run(config(join(ROOT, "det-c"), { save_steps: 0, seed: 7 }));
  assertEquals(pick(a.rows), pick(b.rows));
  assertEquals(
    await Deno.readFile(join(ROOT, "det-a/checkpoint-3/adapter_model.safetensors")),
    await Deno.readFile(join(ROOT, "det-b/checkpoint-3/adapter_model.safetensors")),
  );
  assert(JSON.stringify(pick(a.rows)) !== JSON.stringify(pick(c.rows)), "seed 7 should differ");
});

for (const iterations of [1, 2]) {
  Deno.test(`resume: 4 steps straight = 2 steps, stop, resume "latest" for 2 (num_iterations ${iterations})`, async () => {
    const extra = {
      max_steps: 4,
      save_steps: 0,
      eval_steps: 0,
      num_iterations: iterations,
      logging_steps: 1,
    };
    const straight = await run(config(join(ROOT, `straight-${iterations}`), extra));
    const out = join(ROOT, `resumed-${iterations}`);
    const stop = new StopSignal();
    const at = iterations === 1 ? 2 : 3; // with 2 iterations, step 3 leaves rollouts to reuse in the checkpoint
    const first = await run(config(out, extra), {
      stop,
      onLog: (r) => r.step === at && stop.request("test"),
    });
    assertEquals([first.stopped, first.step], [true, at]);
    assert(first.checkpoint!.endsWith(`checkpoint-${at}`), `checkpoint: ${first.checkpoint}`);
    const second = await run(config(out, { ...extra, resume_from_checkpoint: "latest" }));
    assertEquals(second.step, 4);
    assertEquals(pick(second.rows), pick(straight.rows));
    const { rows } = await readJsonLines<MetricsRow>(join(out, "metrics.jsonl"));
    assertEquals(rows.map((r) => r.step), [0, 1, 2, 3, 4]);
    assertEquals(
      await Deno.readFile(join(out, "checkpoint-4/adapter_model.safetensors")),
      await Deno.readFile(join(ROOT, `straight-${iterations}/checkpoint-4/adapter_model.safetensors`)),
    );
    const comps = (await readJsonLines<{ step: number }>(join(out, "completions.jsonl"))).rows;
    const want =
      (await readJsonLines<{ step: number }>(join(ROOT, `straight-${iterations}/completions.jsonl`))).rows;
    assertEquals(comps, want);
  });
}

Deno.test("resume: a checkpoint of another experiment, or no checkpoint at all → UserError", async () => {
  const out = join(ROOT, "other");
  await run(config(out, { max_steps: 1, eval_size: 0 }));
  await assertRejects(
    () => run(config(out, { max_steps: 2, resume_from_checkpoint: "latest" }), { experiment: "math_soft" }),
    { cls: UserError, includes: 'experiment "unit", not "math_soft"' },
  );
  await assertRejects(() => run(config(join(ROOT, "empty"), { resume_from_checkpoint: "latest" })), {
    cls: UserError,
    includes: "no checkpoint-<step> folder",
  });
  await assertRejects(() => run(config(out, { resume_from_checkpoint: join(ROOT, "nowhere") })), {
    cls: UserError,
    includes: "is not a checkpoint folder",
  });
});

Deno.test("rewards that do not match reward_funcs, or a max_completion_length above the model → UserError", async () => {
  await assertRejects(() => run(config(join(ROOT, "mismatch")), { rewards: [REWARDS[1], REWARDS[0]] }), {
    cls: UserError,
    includes: "reward_funcs",
  });
  await assertRejects(
    () => run(config(join(ROOT, "long"), { max_completion_length: 300, max_prompt_length: 10 })),
    { cls: UserError, includes: "max_completion_length = 300 is above" },
  );
});

Deno.test("held-out completions are saved per eval step (step 0 = base model) and completions.jsonl records the gold answer", async () => {
  const out = join(ROOT, "evalcompletions");
  await run(config(out), {
    evaluate: (_m, _lora, ctx) => {
      ctx?.record([
        {
          id: 0,
          prompt: "1+1?",
          completion: `<answer>${ctx.step}</answer>`,
          gold: "2",
          correct: ctx.step === 2,
        },
        { id: 1, prompt: "2+2?", completion: "4", gold: "4", correct: true },
      ]);
      return Promise.resolve({ "eval/accuracy": ctx?.step === 2 ? 1 : 0.5 });
    },
  });
  const { rows } = await readJsonLines<Record<string, unknown>>(join(out, "eval_completions.jsonl"));
  assertEquals(rows.map((r) => r.step), [0, 0, 2, 2, 3, 3]);
  assertEquals(rows[2], {
    step: 2,
    id: 0,
    prompt: "1+1?",
    completion: "<answer>2</answer>",
    gold: "2",
    correct: true,
  });
  const comps = await readJsonLines<{ gold?: string; prompt: string }>(join(out, "completions.jsonl"));
  assert(comps.rows.length > 0 && comps.rows.every((r) => typeof r.gold === "string" && r.gold.length > 0));
  const golds = new Set(EXAMPLES.map((e) => e.answer));
  assert(comps.rows.every((r) => r.gold !== undefined && golds.has(r.gold)));
});
