/**
 * Crash safety of `deno task experiment` (issue 6, item 1), as subprocesses on the embedded tiny model:
 *
 * - SIGKILL at a seeded random point after a seeded random step, then `resume_from_checkpoint=latest`:
 *   the metrics, completions, adapter and optimizer state equal an uninterrupted run with the same seed,
 *   step for step and bit for bit (only `step_time` differs), and no file is torn.
 * - SIGKILL while a checkpoint is being written (a test hook pauses the writer inside its temp folder):
 *   the half-written checkpoint is never used, its temp folder is cleaned up, the resume still matches.
 * - Ctrl-C (SIGINT) finishes the step, writes a checkpoint, says where it is and exits 130; resuming from it
 *   matches too.
 * @module
 */
import { join } from "node:path";
import { readJsonLines, Rng } from "../lib/util/mod.ts";
import { assert, assertEquals } from "../lib/util/assert.ts";
import { assertSameMetrics, checkRunFiles, mathHardArgs, runCli, spawnCli, TINY_PARAMS } from "./testing.ts";

const ROOT = await Deno.makeTempDir({ prefix: "crash-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

/** Four steps whose losses, rewards and gradients are all non-trivial with this seed and temperature. */
const PARAMS = { ...TINY_PARAMS, max_steps: 4, seed: 3, temperature: 1.5, warmup_ratio: 0, eval_steps: 0 };
const MAX = PARAMS.max_steps;
const args = (out: string, extra: Record<string, unknown> = {}) =>
  mathHardArgs(out, { params: PARAMS, extra });
const RESUME = { resume_from_checkpoint: "latest" };

let baseline: Promise<string> | null = null;
/** The uninterrupted run (made once, shared by the tests). */
function uninterrupted(): Promise<string> {
  return baseline ??= (async () => {
    const dir = join(ROOT, "uninterrupted");
    const r = await runCli("cli/experiment.ts", args(dir));
    assertEquals(r.code, 0, { msg: r.stderr });
    return dir;
  })();
}

/** Asserts that run `dir` (resumed) equals the uninterrupted run, file by file. */
async function assertSameRun(dir: string): Promise<void> {
  const base = await uninterrupted();
  const a = await assertSameMetrics(dir, base);
  assert(a.some((r) => r.loss !== 0 && r.grad_norm > 1e-3), "the compared run actually learns");
  const completions = async (d: string) => (await readJsonLines(join(d, "completions.jsonl"))).rows;
  assertEquals(await completions(dir), await completions(base), { msg: "completions.jsonl" });
  for (const f of ["adapter_model.safetensors", "optimizer.safetensors"]) {
    const [x, y] = [join(base, `checkpoint-${MAX}`, f), join(dir, `checkpoint-${MAX}`, f)];
    assertEquals(await Deno.readFile(y), await Deno.readFile(x), {
      msg: `checkpoint-${MAX}/${f} is bit-identical`,
    });
  }
  const files = await checkRunFiles(dir);
  assertEquals(files.temps, [], { msg: "no temp leftovers after the resumed run" });
  assertEquals(files.torn, {}, { msg: "no torn JSONL lines after the resumed run" });
}

/** Resumes `dir` from its latest checkpoint and checks the notice. */
async function resume(dir: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await runCli("cli/experiment.ts", args(dir, { ...RESUME, ...extra }));
  assertEquals(r.code, 0, { msg: r.stderr });
  assert(/resuming math_hard from .*checkpoint-\d+ \(step \d+ of 4\)/.test(r.stderr), r.stderr);
  assert(!r.stderr.includes("notice: resuming with changed options"), r.stderr);
  return r.stderr;
}

Deno.test({
  name: "crash: SIGKILL at a seeded random step, resume from latest = the uninterrupted run, nothing torn",
  sanitizeResources: false,
  fn: async () => {
    await uninterrupted();
    const rng = new Rng(20_251_124);
    const step = 2 + rng.int(MAX - 2); // a checkpoint of step − 1 exists once step is reported
    const delayMs = rng.int(400); // lands anywhere: in the metrics/checkpoint writes or in the next step
    const dir = join(ROOT, "killed");
    const run = spawnCli("cli/experiment.ts", args(dir));
    await run.waitFor(new RegExp(`\\[train\\] step ${step}/${MAX}`));
    await new Promise((r) => setTimeout(r, delayMs));
    run.child.kill("SIGKILL");
    const killed = await run.finish();
    assert(killed.code !== 0, "the run was killed before it finished");
    const torn = await checkRunFiles(dir); // every JSON parses; JSONL has at most a torn last line
    assert(Object.values(torn.torn).every((n) => n <= 1), JSON.stringify(torn));
    await resume(dir);
    await assertSameRun(dir);
  },
});

Deno.test({
  name: "crash: SIGKILL inside a checkpoint write leaves the older checkpoints usable; resume still matches",
  sanitizeResources: false,
  fn: async () => {
    const dir = join(ROOT, "killed-in-checkpoint");
    const run = spawnCli("cli/experiment.ts", args(dir), { env: { GRPO_TEST_CHECKPOINT_PAUSE: "3" } });
    await run.waitFor(/test hook: paused while writing checkpoint-3/);
    run.child.kill("SIGKILL");
    await run.finish();
    const before = await checkRunFiles(dir);
    assert(before.temps.some((t) => t.startsWith(".checkpoint-3.")), `half-written temp: ${before.temps}`);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("checkpoint-"));
    assertEquals(names.sort(), ["checkpoint-1", "checkpoint-2"], {
      msg: "only complete checkpoints carry the name",
    });
    const stderr = await resume(dir);
    assert(stderr.includes("checkpoint-2 (step 2 of 4)"), stderr);
    assert(/cleaned up \d+ leftover\(s\) of an interrupted write/.test(stderr), stderr);
    await assertSameRun(dir);
  },
});

Deno.test({
  name: "crash: Ctrl-C stops after the step, writes a checkpoint, says where it is; resuming it matches",
  sanitizeResources: false,
  fn: async () => {
    const dir = join(ROOT, "interrupted");
    const run = spawnCli("cli/experiment.ts", args(dir, { save_steps: 0 }));
    await run.waitFor(new RegExp(`\\[train\\] step 1/${MAX}`));
    run.child.kill("SIGINT");
    const r = await run.finish();
    assertEquals(r.code, 130, { msg: r.stderr });
    const m = r.stderr.match(/stopped after step (\d) \(SIGINT\); checkpoint written to (\S+)/);
    assert(m, `stop notice in stderr:\n${r.stderr}`);
    const [step, ckpt] = [Number(m[1]), m[2]];
    assert(step < MAX, `stopped early (step ${step})`);
    assertEquals(ckpt, join(dir, `checkpoint-${step}`));
    assert(r.stderr.includes("resume with --param resume_from_checkpoint=latest"), r.stderr);
    assert(r.stdout.includes(`(stopped at step ${step}; checkpoint ${ckpt})`), r.stdout);
    const state = JSON.parse(await Deno.readTextFile(join(ckpt, "training_state.json")));
    assertEquals(state.step, step);
    await resume(dir, { save_steps: 0 });
    await assertSameRun(dir);
  },
});
