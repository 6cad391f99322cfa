import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeTinyChatModel } from "../grpo/testing.ts";
import { REPO_ROOT } from "../grpo/config.ts";
import type { MetricsRow } from "../grpo/logging.ts";
import { writeFileAtomic, writeJsonAtomic } from "../util/atomic.ts";
import { UserError } from "../util/errors.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../util/assert.ts";
import {
  experimentCommand,
  experimentStatus,
  liveRewardFigure,
  notebookParams,
  resolveTrlLogs,
  runAllExperiments,
  runInNotebook,
  seedOutputDir,
  SHARED_TRL_LOGS,
  statusLines,
  sweepLines,
} from "./experiment.ts";

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
  assertEquals(notebookParams({ model: "Xenova/DialoGPT-small", output_dir: "/abs/run" }, nbDir), {
    model: "Xenova/DialoGPT-small",
    output_dir: "/abs/run",
  });
  assertThrows(
    () => notebookParams({ model: "../data/nothing" }, nbDir),
    UserError,
    `parameter model = "../data/nothing": ${join(ROOT, "data", "nothing")} does not exist`,
  );
  assertThrows(() => notebookParams({ perplexity_model: "./scorer" }, nbDir), UserError, "perplexity_model");
});

Deno.test("liveRewardFigure: total, one line per reward function, held-out metric on the right axis", () => {
  const rows: MetricsRow[] = [
    { step: 0, "eval/accuracy": 0.1 },
    {
      step: 1,
      reward: 0.5,
      "rewards/math_hard/mean": 0.25,
      "rewards/format/mean": 0.25,
      "rewards/format/std": 0,
    },
    { step: 2, reward: 1, "rewards/math_hard/mean": 0.5, "rewards/format/mean": 0.5, "eval/accuracy": 0.3 },
  ];
  const spec = liveRewardFigure(rows, { title: "math_hard: step 2/2" });
  assertEquals(spec.data.map((t) => t.name), [
    "reward (total)",
    "format",
    "math_hard",
    "eval/accuracy (right axis)",
  ]);
  assertEquals([spec.data[0].x, spec.data[0].y], [[1, 2], [0.5, 1]]);
  assertEquals([spec.data[3].x, spec.data[3].y, spec.data[3].yaxis], [[0, 2], [0.1, 0.3], "y2"]);
  assertEquals((spec.layout.title as { text: string }).text, "math_hard: step 2/2");
  assertEquals((spec.layout.yaxis2 as { title: { text: string } }).title.text, "eval/accuracy");
  const empty = liveRewardFigure([]);
  assertEquals([empty.data.length, "yaxis2" in empty.layout], [1, false]);
});

Deno.test("experimentCommand and seedOutputDir: the plain command for the default seed and folder", () => {
  const outputs = join(REPO_ROOT, "outputs");
  assertEquals(
    experimentCommand("math_hard", { seed: 42, outputDir: seedOutputDir(outputs, "math_hard", 42) }),
    "deno task experiment math_hard",
  );
  assertEquals(
    experimentCommand("math_soft", { seed: 7, outputDir: seedOutputDir(outputs, "math_soft", 7) }),
    "deno task experiment math_soft --param seed=7 --param output_dir=outputs/math_soft_seed7",
  );
  assertEquals(
    experimentCommand("dialogue_hard", { outputDir: "/elsewhere/run", resume: true }),
    "deno task experiment dialogue_hard --param output_dir=/elsewhere/run --param resume_from_checkpoint=latest",
  );
});

async function fakeRun(dir: string, experiment: string, seed: number, steps: number, maxSteps: number) {
  await writeJsonAtomic(join(dir, "run_config.json"), { experiment, seed, config: { max_steps: maxSteps } });
  const rows = Array.from({ length: steps + 1 }, (_, s) => JSON.stringify({ step: s, reward: 0.1 }) + "\n");
  await writeFileAtomic(join(dir, "metrics.jsonl"), rows.join(""));
  await Deno.mkdir(join(dir, `checkpoint-${steps}`), { recursive: true }); // never searched as a run
}

Deno.test("experimentStatus: found, incomplete (with the resume command) and missing (with the command)", async () => {
  const out = join(ROOT, "status");
  await fakeRun(join(out, "math_hard"), "math_hard", 42, 3, 3);
  await fakeRun(join(out, "nested", "dialogue_hard"), "dialogue_hard", 42, 1, 3);
  await fakeRun(join(out, "math_hard_seed7"), "math_hard", 7, 3, 3);
  await fakeRun(join(out, "other"), "my_experiment", 42, 2, 2);
  const st = await experimentStatus(out, { seeds: [42, 7] });
  assertEquals(st.runs.map((r) => [r.experiment, r.seed, r.steps, r.complete]), [
    ["math_hard", 42, 3, true],
    ["math_hard", 7, 3, true],
    ["dialogue_hard", 42, 1, false],
    ["my_experiment", 42, 2, true],
  ]);
  assertEquals(st.missing.length, 12 - 3);
  assert(!st.missing.some((m) => m.experiment === "math_hard"), "math_hard exists for both seeds");
  const soft7 = st.missing.find((m) => m.experiment === "math_soft" && m.seed === 7)!;
  assert(
    soft7.command.endsWith(`--param seed=7 --param output_dir=${join(out, "math_soft_seed7")}`),
    soft7.command,
  );
  assertEquals(st.incomplete.map((i) => i.command), [
    `deno task experiment dialogue_hard --param output_dir=${
      join(out, "nested", "dialogue_hard")
    } --param resume_from_checkpoint=latest`,
  ]);
  const lines = statusLines(st, { relativeTo: out });
  assert(
    lines.includes("found dialogue_hard seed 42: 1/3 steps (incomplete) in nested/dialogue_hard"),
    lines[2],
  );
  assert(lines.some((l) => l.startsWith("missing math_soft seed 42: deno task experiment math_soft")));
  assert(!lines.includes("all wanted experiments are present"));

  const none = await experimentStatus(join(ROOT, "no-such-folder"));
  assertEquals([none.runs.length, none.missing.length], [0, 6]);
  assertEquals(statusLines(none)[0], "no runs found");
  await Deno.writeTextFile(join(out, "other", "run_config.json"), "{ not json");
  await assertRejects(
    () => experimentStatus(out),
    UserError,
    `${join(out, "other", "run_config.json")}: cannot read`,
  );
  await assertRejects(() => experimentStatus(out, { seeds: [1.5] }), UserError, "seeds: 1.5");
});

Deno.test("resolveTrlLogs: auto uses the shared logs when present; a missing folder is a UserError", () => {
  assertEquals(resolveTrlLogs(null), null);
  assertEquals(resolveTrlLogs(""), null);
  assertEquals(resolveTrlLogs("auto"), existsSync(SHARED_TRL_LOGS) ? SHARED_TRL_LOGS : null);
  assertEquals(resolveTrlLogs(".", { cwd: ROOT }), ROOT);
  assertThrows(
    () => resolveTrlLogs("logs", { cwd: ROOT }),
    UserError,
    `trl_logs = "logs": ${join(ROOT, "logs")}`,
  );
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
  assertEquals(await sweepLines(join(ROOT, "runs")), [], "no sweep.json: no lines");
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
  await assertRejects(
    () => runAllExperiments(out, { ...quiet, params: { seed: 1 } }),
    UserError,
    "params.seed is set per run",
  );
  await assertRejects(() => runInNotebook("math_medium"), UserError, "unknown experiment");
});
