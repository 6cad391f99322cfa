/**
 * Runs that stop when asked and never share a folder (issue 21), as `deno task experiment` subprocesses on
 * the embedded tiny model:
 *
 * - two experiments started together into one folder: exactly one runs, the other exits with one `error:`
 *   line naming the holder; the folder holds one run's metrics, each step once;
 * - SIGKILL leaves the lock behind: the next run names it in one line and takes it over;
 * - SIGTERM at a seeded random step: the step ends, a checkpoint is written (the only one: save_steps=0),
 *   the run says how to resume and exits 143; resuming gives the uninterrupted run's metrics, step by step;
 * - a second SIGTERM quits at once (exit 143) and the lock is released.
 * @module
 */
import { join } from "node:path";
import { LOCK_FILE, Rng } from "../lib/util/mod.ts";
import { assert, assertEquals } from "../lib/util/assert.ts";
import {
  assertSameMetrics,
  comparableMetrics,
  mathHardArgs,
  runCli,
  spawnCli,
  TINY_PARAMS,
} from "./testing.ts";

const ROOT = await Deno.makeTempDir({ prefix: "stop-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

const PARAMS = { ...TINY_PARAMS, max_steps: 4, seed: 3, temperature: 1.5, warmup_ratio: 0, eval_steps: 0 };
const MAX = PARAMS.max_steps;
const args = (out: string, extra: Record<string, unknown> = {}) =>
  mathHardArgs(out, { params: PARAMS, extra });

const exists = async (p: string) => (await Deno.stat(p).catch(() => null)) !== null;

let baseline: Promise<string> | null = null;
function uninterrupted(): Promise<string> {
  return baseline ??= (async () => {
    const dir = join(ROOT, "uninterrupted");
    const r = await runCli("cli/experiment.ts", args(dir));
    assertEquals(r.code, 0, { msg: r.stderr });
    assert(!(await exists(join(dir, LOCK_FILE))), "the lock is released at the end");
    return dir;
  })();
}

Deno.test({
  name: "lock: two experiments started together into one folder: one runs, the other exits with one line",
  sanitizeResources: false,
  fn: async () => {
    const dir = join(ROOT, "together");
    const [a, b] = await Promise.all([
      runCli("cli/experiment.ts", args(dir)),
      runCli("cli/experiment.ts", args(dir)),
    ]);
    const codes = [a.code, b.code].sort();
    assertEquals(codes, [0, 2], { msg: `${a.stderr}\n----\n${b.stderr}` });
    const loser = a.code === 2 ? a : b;
    const errors = loser.stderr.trim().split("\n").filter((l) => l.startsWith("error: "));
    assertEquals(errors.length, 1, { msg: loser.stderr });
    assert(
      new RegExp(
        `^error: output_dir ${dir} is in use by another writer \\(pid \\d+ on \\S+ since \\S+ \\(run\\)\\)`,
      )
        .test(errors[0]),
      errors[0],
    );
    assert(!loser.stderr.includes("    at "), `no stack trace:\n${loser.stderr}`);
    const steps = (await comparableMetrics(dir)).map((r) => r.step);
    assertEquals(steps, [...new Set(steps)], { msg: "each step once" });
    assertEquals(steps.at(-1), MAX);
    const rc = JSON.parse(await Deno.readTextFile(join(dir, "run_config.json")));
    assert(!rc.resumed_from, "one run, started once");
  },
});

Deno.test({
  name: "lock: SIGKILL leaves the lock; the next run names it in one line and takes it over",
  sanitizeResources: false,
  fn: async () => {
    const dir = join(ROOT, "stale");
    const run = spawnCli("cli/experiment.ts", args(dir));
    await run.waitFor(new RegExp(`\\[train\\] step 2/${MAX}`));
    run.child.kill("SIGKILL");
    await run.finish();
    const lock = JSON.parse(await Deno.readTextFile(join(dir, LOCK_FILE)));
    assertEquals(lock.pid, run.child.pid);
    const r = await runCli("cli/experiment.ts", args(dir, { resume_from_checkpoint: "latest" }));
    assertEquals(r.code, 0, { msg: r.stderr });
    const notes = r.stderr.split("\n").filter((l) => l.includes("lock"));
    assertEquals(notes.length, 1, { msg: r.stderr });
    assert(
      notes[0].startsWith(
        `notice: output_dir ${dir}: taking over the lock of a writer that is gone (pid ${run.child.pid} `,
      ),
      notes[0],
    );
    assert(!(await exists(join(dir, LOCK_FILE))), "released at the end");
  },
});

Deno.test({
  name:
    "SIGTERM at a seeded random step: checkpoint, how to resume, exit 143; resuming = the uninterrupted run",
  sanitizeResources: false,
  fn: async () => {
    await uninterrupted();
    const rng = new Rng(20_261_203);
    const at = 1 + rng.int(MAX - 2); // SIGTERM once step `at` is reported: the run stops after at most at + 1
    const delayMs = rng.int(300);
    const dir = join(ROOT, "sigterm");
    const run = spawnCli("cli/experiment.ts", args(dir, { save_steps: 0 }));
    await run.waitFor(new RegExp(`\\[train\\] step ${at}/${MAX}`));
    await new Promise((r) => setTimeout(r, delayMs));
    run.child.kill("SIGTERM");
    const r = await run.finish();
    assertEquals(r.code, 143, { msg: r.stderr });
    assert(r.stderr.includes("SIGTERM: finishing the current step, then writing a checkpoint"), r.stderr);
    const m = r.stderr.match(/stopped after step (\d+) \(SIGTERM\); checkpoint written to (\S+)/);
    assert(m, `stop notice in stderr:\n${r.stderr}`);
    const [step, ckpt] = [Number(m[1]), m[2]];
    assert(step >= at && step < MAX, `stopped early (SIGTERM after step ${at}, stopped after ${step})`);
    assertEquals(ckpt, join(dir, `checkpoint-${step}`));
    assert(r.stderr.includes("resume with --param resume_from_checkpoint=latest"), r.stderr);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("checkpoint-"));
    assertEquals(names, [`checkpoint-${step}`], {
      msg: "the SIGTERM checkpoint is the only one (save_steps=0)",
    });
    assert(!(await exists(join(dir, LOCK_FILE))), "the lock is released");

    const resumed = await runCli("cli/experiment.ts", args(dir, { resume_from_checkpoint: "latest" }));
    assertEquals(resumed.code, 0, { msg: resumed.stderr });
    assert(resumed.stderr.includes(`from ${ckpt} (step ${step} of ${MAX})`), resumed.stderr);
    const a = await assertSameMetrics(dir, await uninterrupted());
    assert(a.some((x) => x.loss !== 0 && x.grad_norm > 1e-3), "the compared run actually learns");
  },
});

Deno.test({
  name: "SIGTERM twice: the second quits at once (exit 143) and the lock is released",
  sanitizeResources: false,
  fn: async () => {
    const dir = join(ROOT, "twice");
    const run = spawnCli("cli/experiment.ts", args(dir, { max_steps: 200, save_steps: 0 }));
    await run.waitFor(/\[train\] step 1\/200/);
    run.child.kill("SIGTERM");
    await run.waitFor(/SIGTERM: finishing the current step/);
    await new Promise((r) => setTimeout(r, 1100)); // past the window in which a repeat is the same request
    try {
      run.child.kill("SIGTERM");
    } catch { /* already ended: the first stop was quicker */ }
    const r = await run.finish();
    assertEquals(r.code, 143, { msg: r.stderr });
    assert(!(await exists(join(dir, LOCK_FILE))), "the lock is released on the forced exit");
  },
});
