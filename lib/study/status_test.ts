import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../grpo/mod.ts";
import { UserError, writeFileAtomic, writeJsonAtomic } from "../util/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../util/assert.ts";
import {
  experimentCommand,
  experimentStatus,
  resolveTrlLogs,
  runAllExperiments,
  seedOutputDir,
  SHARED_TRL_LOGS,
  statusLines,
} from "./status.ts";
import { EXPERIMENT_IDS, experimentConfig } from "./experiments.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "study-status-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

Deno.test("experimentCommand and seedOutputDir: the plain command for the default seed and folder", () => {
  const outputs = join(REPO_ROOT, "outputs");
  assertEquals(
    experimentCommand("math_hard", {
      seed: 42,
      outputDir: seedOutputDir("math_hard", { seed: 42, outputsDir: outputs }),
    }),
    "deno task experiment math_hard",
  );
  assertEquals(
    experimentCommand("math_soft", {
      seed: 7,
      outputDir: seedOutputDir("math_soft", { seed: 7, outputsDir: outputs }),
    }),
    "deno task experiment math_soft --param seed=7",
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
  await fakeRun(join(out, "math_hard_seed42"), "math_hard", 42, 3, 3);
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
  assertEquals(st.missing.length, 2 * EXPERIMENT_IDS.length - 3);
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
  assertEquals([none.runs.length, none.missing.length], [0, EXPERIMENT_IDS.length]);
  assertEquals(statusLines(none)[0], "no runs found");
  await Deno.writeTextFile(join(out, "other", "run_config.json"), "{ not json");
  await assertRejects(() => experimentStatus(out), {
    cls: UserError,
    includes: `${join(out, "other", "run_config.json")}: cannot read`,
  });
  await assertRejects(() => experimentStatus(out, { seeds: [1.5] }), {
    cls: UserError,
    includes: "seeds: 1.5",
  });
});

Deno.test("resolveTrlLogs: auto uses the shared logs when present; a missing folder is a UserError", () => {
  assertEquals(resolveTrlLogs(null), null);
  assertEquals(resolveTrlLogs(""), null);
  assertEquals(resolveTrlLogs("auto"), existsSync(SHARED_TRL_LOGS) ? SHARED_TRL_LOGS : null);
  assertEquals(resolveTrlLogs(".", { cwd: ROOT }), ROOT);
  assertThrows(() => resolveTrlLogs("logs", { cwd: ROOT }), {
    cls: UserError,
    includes: `trl_logs = "logs": ${join(ROOT, "logs")}`,
  });
});

Deno.test("the default output folder depends on the seed, the same way in the CLI, status and run-all", async () => {
  for (const seed of [42, 7]) {
    const cfg = experimentConfig("math_hard", { seed });
    assertEquals(cfg.output_dir, `outputs/math_hard_seed${seed}`);
    assertEquals(
      seedOutputDir("math_hard", { seed, outputsDir: join(REPO_ROOT, "outputs") }),
      join(REPO_ROOT, cfg.output_dir),
    );
    const missing = (await experimentStatus(join(ROOT, "nothing-here"), { seeds: [seed] })).missing;
    assert(missing.some((m) => m.experiment === "math_hard" && m.seed === seed), "missing is listed");
  }
  assertEquals(experimentConfig("math_hard", { output_dir: "elsewhere" }).output_dir, "elsewhere");
  const seen: [string, Record<string, unknown>][] = [];
  const out = join(ROOT, "all");
  // A stand-in trainer that writes a complete trainer_state.json.
  const runOne = async (id: string, params: Record<string, unknown>) => {
    seen.push([id, params]);
    const dir = params.output_dir as string;
    await writeJsonAtomic(join(dir, "trainer_state.json"), { global_step: 1, max_steps: 1 });
    return dir;
  };
  const dirs = await runAllExperiments(out, { ids: ["math_hard"], seeds: [42, 7], print: false, runOne });
  assertEquals(dirs, [join(out, "math_hard_seed42"), join(out, "math_hard_seed7")]);
  assertEquals(seen.map(([, p]) => p.seed), [42, 7]);
  // Run again: both runs are complete, nothing is retrained.
  await runAllExperiments(out, { ids: ["math_hard"], seeds: [42, 7], print: false, runOne });
  assertEquals(seen.length, 2);
  // A run that does not complete is reported, with the others' folders kept.
  await assertRejects(() =>
    runAllExperiments(out, {
      ids: ["math_hard"],
      seeds: [8],
      print: false,
      runOne: () => Promise.reject(new UserError("option x is bad")),
    }), { cls: UserError, includes: "1 of 1 runs not done: math_hard_seed8 failed (option x is bad)" });
  await assertRejects(() => runAllExperiments(out, { params: { output_dir: "x" } }), {
    cls: UserError,
    includes: "params.output_dir is set per run",
  });
});
