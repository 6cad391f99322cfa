import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";
import { UserError } from "../util/mod.ts";
import { checkSweepSpec } from "./sweep_spec.ts";
import {
  newManifest,
  prepareSweepFolder,
  readManifest,
  runFolderState,
  runLines,
  summaryLine,
  writeManifest,
} from "./sweep_manifest.ts";
import { errorLine, taskParams } from "./sweep_task.ts";
import { openSweep } from "./sweep.ts";

const ROOT = await Deno.makeTempDir({ prefix: "sweep-manifest-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

const spec = (dir: string) =>
  checkSweepSpec({
    experiments: ["math_hard"],
    seeds: [1, 2],
    params: { max_steps: 4, beta: 0 },
    output_dir: dir,
  });

Deno.test("manifest: written and read back; every run pending with its folder; summary and run lines", async () => {
  const dir = join(ROOT, "m");
  await prepareSweepFolder(dir);
  const m = newManifest(spec(dir), "local");
  assertEquals(m.runs.map((r) => [r.id, r.dir, r.state]), [
    ["math_hard_seed1", "math_hard_seed1", "pending"],
    ["math_hard_seed2", "math_hard_seed2", "pending"],
  ]);
  await writeManifest(dir, m);
  const back = await readManifest(dir);
  assertEquals(back.runs, m.runs);
  back.runs[1] = { ...back.runs[1], state: "failed", reason: "boom", job: "7_1" };
  assertEquals(summaryLine(back.runs), "2 runs: 0 done, 0 running, 1 pending, 1 failed");
  assertEquals(runLines(back.runs)[1], "failed  math_hard_seed2 [7_1]: boom");
  await assertRejects(() => readManifest(join(ROOT, "nowhere")), {
    cls: UserError,
    includes: "not a sweep folder",
  });
});

Deno.test("runFolderState and taskParams: fresh, resumable from the latest checkpoint, complete", async () => {
  const dir = join(ROOT, "run");
  const run = newManifest(spec(ROOT), "local").runs[0];
  assertEquals((await runFolderState(dir)).started, false);
  let t = await taskParams(run, dir, { threads: 3 });
  assertEquals(t.params, { max_steps: 4, beta: 0, seed: 1, output_dir: dir, threads: 3 });
  assertEquals([t.skip, t.resumeFrom], [false, null]);
  await Deno.mkdir(join(dir, "checkpoint-1"), { recursive: true });
  await Deno.mkdir(join(dir, "checkpoint-3"));
  await Deno.writeTextFile(join(dir, "run_config.json"), "{}");
  await Deno.writeTextFile(join(dir, "trainer_state.json"), JSON.stringify({ global_step: 3, max_steps: 4 }));
  const st = await runFolderState(dir);
  assertEquals([st.started, st.step, st.complete, st.checkpoints], [true, 3, false, [1, 3]]);
  t = await taskParams(run, dir);
  assertEquals([t.params.resume_from_checkpoint, t.resumeFrom], ["latest", join(dir, "checkpoint-3")]);
  await Deno.writeTextFile(join(dir, "trainer_state.json"), JSON.stringify({ global_step: 4, max_steps: 4 }));
  assert((await taskParams(run, dir)).skip, "a complete run is skipped");
});

Deno.test("errorLine: the last error: line of a run's output", () => {
  assertEquals(errorLine("a\nerror: first\nb\nerror: option x = 1 is bad\n"), "option x = 1 is bad");
  assertEquals(errorLine("warning: w\n"), null);
});

Deno.test("openSweep: a folder with this sweep needs resume; another sweep is refused, or replaced on request", async () => {
  const dir = join(ROOT, "open");
  const a = await openSweep(spec(dir));
  assertEquals(a.manifest.runs.length, 2);
  await assertRejects(() => openSweep(spec(dir)), { cls: UserError, includes: "already holds this sweep" });
  // The same description with its options in another order is the same sweep.
  const reordered = { ...spec(dir), params: { beta: 0, max_steps: 4 } };
  assertEquals((await openSweep(reordered, { resume: true })).manifest.runs.length, 2);
  const other = { ...spec(dir), seeds: [2, 3] };
  await assertRejects(() => openSweep(other, { resume: true }), {
    cls: UserError,
    includes: "already holds another sweep",
  });
  const m = await readManifest(dir);
  m.runs[1] = { ...m.runs[1], state: "done", job: "local" };
  await writeManifest(dir, m);
  const replaced = await openSweep(other, { resume: true, replace: true });
  assertEquals(replaced.manifest.runs.map((r) => [r.id, r.state]), [
    ["math_hard_seed2", "done"],
    ["math_hard_seed3", "pending"],
  ]);
});
