import { join } from "node:path";
import { readJsonLines } from "../util/mod.ts";
import { assert, assertEquals } from "../util/assert.ts";
import { completionRecords, type MetricsRow, RowAverager, stepRow } from "./logging.ts";
import { RunFiles, withoutSecrets } from "./run_dir.ts";
import type { RolloutBatch } from "./rollout.ts";
import { resolveConfig } from "./config.ts";

const rollouts = {
  samples: [
    { example: 0, prompt: "p", rewardPrompt: "p", completion: "a", length: 3, terminated: true },
    { example: 0, prompt: "p", rewardPrompt: "p", completion: "b", length: 5, terminated: false },
  ],
  rewards: { perFunction: { perplexity: [1, 0.5], format: [0.5, 0] }, total: [1.5, 0.5] },
  advantages: [0.7, -0.7],
  groupStd: [0.7071],
  zeroStdGroups: 0,
  truncatedPrompts: 1,
  tokens: 20,
  micro: [],
} as unknown as RolloutBatch;
const result = { loss: 0.1, gradNorm: 2, kl: null, entropy: 1.5, clipLow: 0, clipHigh: 0.1, clipRegion: 0.1 };

Deno.test("stepRow: TRL metric names; each reward keeps its own name (perplexity ≠ format)", () => {
  const row = stepRow(4, {
    rollouts,
    result,
    learningRate: 1e-4,
    numTokens: 80,
    stepTime: 2,
    epoch: 0.5,
    judge: { calls: 4, errors: 1, fallbacks: 1, latencyMs: 12 },
  });
  assertEquals(row["rewards/perplexity/mean"], 0.75);
  assertEquals(row["rewards/format/mean"], 0.25);
  assertEquals(row.reward, 1);
  assertEquals([row["completions/mean_length"], row["completions/clipped_ratio"]], [4, 0.5]);
  assertEquals(row["completions/mean_terminated_length"], 3);
  assertEquals([row["judge/calls"], row["judge/errors"], row["judge/fallback_frac"]], [4, 1, 0.25]);
  assertEquals("kl" in row, false, { msg: "no kl without a reference pass (beta = 0), as TRL" });
  assertEquals([row.loss, row.grad_norm, row.learning_rate, row.num_tokens], [0.1, 2, 1e-4, 80]);
  const recs = completionRecords(4, rollouts);
  assertEquals(recs[1], {
    step: 4,
    prompt: "p",
    completion: "b",
    rewards: { perplexity: 0.5, format: 0 },
    reward: 0.5,
    advantage: -0.7,
  });
});

Deno.test("RowAverager: means, running values last, counts summed", () => {
  const a = new RowAverager();
  assertEquals(a.flush(), null);
  a.add({ step: 1, loss: 1, num_tokens: 10, learning_rate: 1, "prompts/truncated": 1 } as MetricsRow);
  a.add({ step: 2, loss: 3, num_tokens: 25, learning_rate: 2, "prompts/truncated": 2 } as MetricsRow);
  assert(a.pending);
  assertEquals(a.flush(), { step: 2, loss: 2, num_tokens: 25, learning_rate: 2, "prompts/truncated": 3 });
  assertEquals(a.pending, false);
});

Deno.test("run_config.json never holds keys or tokens; RunFiles reset keeps completions up to a step", async () => {
  assertEquals(withoutSecrets<unknown>({ a: 1, apiKey: "s3cret", nested: { hf_token: "x", ok: "y" } }), {
    a: 1,
    nested: { ok: "y" },
  });
  const dir = await Deno.makeTempDir();
  const files = new RunFiles(dir, { max_steps: 3, logging_steps: 1, eval_steps: 0, save_steps: 0 });
  await files.reset([], 0);
  await files.writeRunConfig(resolveConfig({}), { experiment: "x", extra: { judge_api_key: "s3cret" } });
  assert(!(await Deno.readTextFile(join(dir, "run_config.json"))).includes("s3cret"));
  await files.logCompletions(completionRecords(1, rollouts));
  await files.logCompletions(completionRecords(2, rollouts));
  await files.log({ step: 1, loss: 1 } as MetricsRow);
  await files.log({ step: 2, loss: 2 } as MetricsRow);
  const again = new RunFiles(dir, { max_steps: 3, logging_steps: 1, eval_steps: 0, save_steps: 0 });
  await again.reset([{ step: 1, loss: 1 } as MetricsRow], 1);
  assertEquals((await readJsonLines(join(dir, "metrics.jsonl"))).rows, [{ step: 1, loss: 1 }]);
  const comps = (await readJsonLines<{ step: number }>(join(dir, "completions.jsonl"))).rows;
  assertEquals(comps.map((c) => c.step), [1, 1]);
  const state = JSON.parse(await Deno.readTextFile(join(dir, "trainer_state.json")));
  assertEquals([state.global_step, state.max_steps, state.log_history.length], [1, 3, 1]);
  await Deno.remove(dir, { recursive: true });
});
