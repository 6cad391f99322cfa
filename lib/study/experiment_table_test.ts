/**
 * The study's tables are open to new rows without editing a product file: a test adds a reward, a task and
 * experiments (one on the new task, one on the built-in math task) and runs them end to end.
 */
import { join } from "node:path";
import { CausalLM } from "../model/mod.ts";
import type { RewardContext, RewardSpec } from "../rewards/mod.ts";
import { Rng, UserError } from "../util/mod.ts";
import { assert, assertEquals, assertThrows } from "../util/assert.ts";
import { writeTinyChatModel } from "../rewards/testing.ts";
import {
  defineExperiment,
  describeExperiments,
  experimentConfig,
  getExperiment,
} from "./experiment_table.ts";
import { runExperiment } from "./experiments.ts";
import { getTask, type Task } from "./tasks.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "grpo-experiment-table-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));
const MODEL = join(ROOT, "model");
await writeTinyChatModel(MODEL);
const model = await CausalLM.load(MODEL, { device: "cpu", threads: 1 });

/** A new reward: 1 per completion that is short (≤ 8 characters), else 0. */
let calls = 0;
const SHORT: RewardSpec = {
  name: "short_answer",
  description: "1 when the completion has at most 8 characters",
  needs: [],
  make: () => ({
    name: "short_answer",
    fn: (ctx: RewardContext) => (calls++, ctx.completions.map((c) => (c.length <= 8 ? 1 : 0))),
  }),
};

/** A new task: echo a word; held out, the share of greedy replies that contain it. */
interface Echo {
  word: string;
}
const ECHO: Task<Echo> = {
  name: "echo",
  description: "repeat a word",
  load: () => Promise.resolve(Array.from({ length: 40 }, (_, i) => ({ word: `w${i}` }))),
  promptKey: (r) => r.word,
  example: (r) => ({ messages: [{ role: "user", content: `say ${r.word}` }], answer: r.word }),
  userTurnPrompts: false,
  perplexity: "policy",
  needsJudge: false,
  defaults: { eval_size: 4 },
  metrics: ["eval/echo_rate"],
  evaluator: (rows) => (m, lora) => {
    const tok = m.tok;
    const prompts = rows.map((r) =>
      tok.encode(tok.applyChatTemplate([{ role: "user", content: `say ${r.word}` }]))
    );
    return m.generate(prompts, { maxNewTokens: 4, temperature: 0, rng: new Rng(0), lora }).then((g) => ({
      "eval/echo_rate": g.tokens.filter((t, i) => tok.decode(t).includes(rows[i].word)).length / rows.length,
    }));
  },
};

const tables = {
  rewards: [SHORT],
  tasks: [ECHO as Task],
  experiments: [
    defineExperiment({
      id: "echo_short",
      task: "echo",
      description: "echo, short answers",
      rewards: ["short_answer"],
    }, {
      tasks: [ECHO as Task],
    }),
    defineExperiment({
      id: "arith_short",
      task: "math",
      description: "math prompts, short answers + format",
      rewards: ["short_answer", "format"],
      options: { eval_size: 0 },
    }),
  ],
};

const small = (out: string) => ({
  model: MODEL,
  device: "cpu",
  threads: 1,
  output_dir: join(ROOT, out),
  max_steps: 2,
  per_device_train_batch_size: 4,
  num_generations: 2,
  max_prompt_length: 64,
  max_completion_length: 6,
  eval_steps: 2,
  save_steps: 0,
});
const quiet = { model, print: false, handleSigint: false, log: () => {} };

Deno.test("a new experiment names its task; the id means nothing; unknown tasks and rewards are UserErrors", () => {
  assertEquals(getExperiment("arith_short", tables).task, "math", { msg: "not guessed from the id" });
  assertEquals(getExperiment("arith_short", tables).defaults.max_steps, 40, {
    msg: "the math task's defaults",
  });
  assertEquals(experimentConfig("echo_short", {}, tables).reward_funcs, ["short_answer"]);
  assertEquals(experimentConfig("echo_short", {}, tables).eval_size, 4);
  assert(describeExperiments(tables).includes("echo_short"));
  assertThrows(() => getExperiment("echo_short"), {
    cls: UserError,
    includes: 'unknown experiment "echo_short"',
  });
  assertThrows(() => experimentConfig("echo_short", {}, { ...tables, rewards: [] }), {
    cls: UserError,
    includes: "short_answer",
  });
  assertThrows(() => defineExperiment({ id: "x", task: "poetry", description: "", rewards: ["format"] }), {
    cls: UserError,
    includes: 'unknown task "poetry"; known tasks: math, dialogue',
  });
  assertEquals(getTask("echo", tables).metrics, ["eval/echo_rate"]);
});

Deno.test("a new reward on a new task, and on the math task, trains end to end from a test file", async () => {
  const echo = await runExperiment("echo_short", { ...quiet, ...tables, params: small("echo") });
  assertEquals(echo.rows.map((r) => r.step), [0, 1, 2]);
  assert(echo.rows[0]["eval/echo_rate"] !== undefined && echo.rows[2]["eval/echo_rate"] !== undefined);
  assert("rewards/short_answer/mean" in echo.rows[1], Object.keys(echo.rows[1]).join(", "));
  const before = calls;
  const math = await runExperiment("arith_short", { ...quiet, ...tables, params: small("arith") });
  assert(calls > before, "the new reward scored the math run");
  const row = math.rows.at(-1)!;
  assert("rewards/short_answer/mean" in row && "rewards/format/mean" in row);
  const rc = JSON.parse(await Deno.readTextFile(join(math.outputDir, "run_config.json")));
  assertEquals([rc.experiment, rc.config.reward_funcs], ["arith_short", ["short_answer", "format"]]);
});
