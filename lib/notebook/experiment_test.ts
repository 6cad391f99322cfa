import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeTinyChatModel } from "../rewards/testing.ts";
import { experimentStatus } from "../study/mod.ts";
import { UserError } from "../util/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../util/assert.ts";
import { notebookParams, runAllExperiments, runInNotebook } from "./experiment.ts";
import { sweepLines } from "../study/mod.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "notebook-experiment-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

Deno.test("notebookParams: paths from the notebook's folder, a missing model folder names the parameter", () => {
  Deno.mkdirSync(join(ROOT, "data", "tiny"), { recursive: true });
  const nbDir = join(ROOT, "notebooks");
  Deno.mkdirSync(nbDir, { recursive: true });
  const p = notebookParams(
    { model: "../data/tiny", output_dir: "../outputs/x", seed: 3, threads: null, skip: undefined },
    nbDir,
  );
  assertEquals(p, {
    model: join(ROOT, "data", "tiny"),
    output_dir: join(ROOT, "outputs", "x"),
    seed: 3,
    threads: null,
  });
  assertEquals(notebookParams({ output_dir: null, seed: 7 }, nbDir), { seed: 7 }, {
    msg: "null: the default folder",
  });
  assertEquals(notebookParams({ model: "Xenova/DialoGPT-small", output_dir: "/abs/run" }, nbDir), {
    model: "Xenova/DialoGPT-small",
    output_dir: "/abs/run",
  });
  assertThrows(() => notebookParams({ model: "../data/nothing" }, nbDir), {
    cls: UserError,
    includes: `parameter model = "../data/nothing": ${join(ROOT, "data", "nothing")} does not exist`,
  });
  assertThrows(() => notebookParams({ perplexity_model: "./scorer" }, nbDir), {
    cls: UserError,
    includes: "perplexity_model",
  });
});

Deno.test("runInNotebook and runAllExperiments train through the library and return the run folders", async () => {
  const model = join(ROOT, "model");
  await writeTinyChatModel(model);
  const small = {
    model,
    device: "cpu",
    threads: 1,
    max_steps: 1,
    per_device_train_batch_size: 2,
    num_generations: 2,
    max_prompt_length: 64,
    max_completion_length: 4,
    eval_size: 2,
    save_steps: 0,
  };
  const quiet = { plot: false, print: false, log: () => {}, experiment: { handleSigint: false } };
  const dir = await runInNotebook("math_hard", { ...small, output_dir: "runs/one" }, { ...quiet, cwd: ROOT });
  assertEquals(dir, join(ROOT, "runs", "one"));
  assert(existsSync(join(dir, "metrics.jsonl")) && existsSync(join(dir, "checkpoint-1")));

  const out = join(ROOT, "all");
  const dirs = await runAllExperiments(out, {
    ...quiet,
    ids: ["math_soft", "dialogue_soft"],
    seeds: [42, 3],
    params: small,
    gemini: false,
  });
  assertEquals(dirs, [
    join(out, "math_soft_seed42"),
    join(out, "math_soft_seed3"),
    join(out, "dialogue_soft_seed42"),
    join(out, "dialogue_soft_seed3"),
  ]);
  const manifest = JSON.parse(await Deno.readTextFile(join(out, "sweep.json")));
  assertEquals(manifest.runs.map((r: { state: string }) => r.state), ["done", "done", "done", "done"]);
  const lines = await sweepLines(out);
  assertEquals(lines.at(-1), "sweep (local): 4 runs: 4 done, 0 running, 0 pending, 0 failed");
  assert(lines[0].startsWith("sweep: done    math_soft_seed42"), lines[0]);
  // run_all again with another grid: the manifest follows it; the complete run is kept, not retrained.
  const again = await runAllExperiments(out, { ...quiet, ids: ["math_soft"], seeds: [3], params: small });
  assertEquals(again, [join(out, "math_soft_seed3")]);
  const st = await experimentStatus(out, { seeds: [42, 3] });
  assertEquals(st.runs.map((r) => `${r.experiment}/${r.seed}/${r.complete}`).sort(), [
    "dialogue_soft/3/true",
    "dialogue_soft/42/true",
    "math_soft/3/true",
    "math_soft/42/true",
  ]);
  await assertRejects(() => runAllExperiments(out, { ...quiet, params: { seed: 1 } }), {
    cls: UserError,
    includes: "params.seed is set per run",
  });
  await assertRejects(() => runInNotebook("math_medium"), { cls: UserError, includes: "unknown experiment" });
});
