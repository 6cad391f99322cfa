import { join } from "node:path";
import { writeJsonAtomic } from "./atomic.ts";
import { UserError } from "./errors.ts";
import { assertEquals, assertRejects } from "./assert.ts";
import {
  assertNoEarlierRun,
  checkpointName,
  checkpointStep,
  defaultOutputDir,
  findRunDirs,
  holdsRun,
  listCheckpoints,
  readRunSummary,
  runFile,
} from "./run_folder.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "run-folder-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

async function fakeRun(
  dir: string,
  o: { experiment: string; seed: number; steps: number; checkpoint?: number },
) {
  await writeJsonAtomic(runFile(dir, "runConfig"), {
    experiment: o.experiment,
    seed: o.seed,
    config: { max_steps: 20 },
  });
  const rows = Array.from({ length: o.steps + 1 }, (_, s) => JSON.stringify({ step: s }) + "\n").join("");
  await Deno.writeTextFile(runFile(dir, "metrics"), rows);
  if (o.checkpoint) await Deno.mkdir(join(dir, checkpointName(o.checkpoint)), { recursive: true });
}

Deno.test("run folder names: files, checkpoints, and a default folder that depends on the seed", () => {
  assertEquals(runFile("/r", "metrics"), "/r/metrics.jsonl");
  assertEquals(runFile("/r", "trainerState"), "/r/trainer_state.json");
  assertEquals([checkpointName(12), checkpointStep("checkpoint-12"), checkpointStep("checkpoint-x")], [
    "checkpoint-12",
    12,
    null,
  ]);
  assertEquals(defaultOutputDir("math_hard", 42), "outputs/math_hard_seed42");
  assertEquals(defaultOutputDir("math_hard", 7), "outputs/math_hard_seed7");
  assertEquals(defaultOutputDir("math_hard", 7, { outputsDir: "/o" }), "/o/math_hard_seed7");
});

Deno.test("run folder reading: summary, checkpoints, discovery (checkpoints are not runs)", async () => {
  const dir = join(ROOT, "found", "math_hard_seed7");
  await fakeRun(dir, { experiment: "math_hard", seed: 7, steps: 5, checkpoint: 5 });
  await Deno.mkdir(join(dir, checkpointName(2)));
  assertEquals(await listCheckpoints(dir), [2, 5]);
  assertEquals(await listCheckpoints(join(ROOT, "absent")), []);
  const s = await readRunSummary(dir);
  assertEquals([s.experiment, s.seed, s.steps, s.maxSteps, s.complete], ["math_hard", 7, 5, 20, false]);
  assertEquals(await findRunDirs(join(ROOT, "found")), [dir]);
  assertEquals(await findRunDirs(join(ROOT, "absent")), []);
});

Deno.test("a folder that holds a run stops a fresh one, naming the run and the three ways on", async () => {
  const dir = join(ROOT, "taken");
  await assertNoEarlierRun(join(ROOT, "fresh")); // nothing there: fine
  await fakeRun(dir, { experiment: "math_hard", seed: 42, steps: 15, checkpoint: 15 });
  assertEquals(await holdsRun(dir), true);
  const err = await assertRejects(() => assertNoEarlierRun(dir), { cls: UserError });
  assertEquals(
    (err as Error).message,
    `output_dir ${dir} already holds a run (math_hard seed 42, last step 15 of 20); continue it with ` +
      "resume_from_checkpoint=latest, replace it with overwrite_output_dir=true, or give another output_dir",
  );
  await assertNoEarlierRun(dir, { overwrite: true });
  const bare = join(ROOT, "only-checkpoints");
  await Deno.mkdir(join(bare, checkpointName(3)), { recursive: true });
  await assertRejects(() => assertNoEarlierRun(bare), {
    cls: UserError,
    includes: "unknown experiment and seed",
  });
});

Deno.test("findRunDirs follows symbolic links to run folders (a folder of links), once per folder", async () => {
  const real = join(ROOT, "real", "math_soft_seed3");
  await fakeRun(real, { experiment: "math_soft", seed: 3, steps: 2 });
  const links = join(ROOT, "links");
  await Deno.mkdir(links, { recursive: true });
  await Deno.symlink(real, join(links, "a"));
  await Deno.symlink(join(ROOT, "real"), join(links, "b")); // the same run again, through its parent
  await Deno.symlink(links, join(links, "loop")); // a cycle is not followed twice
  assertEquals(await findRunDirs(links), [join(links, "a")]);
});
