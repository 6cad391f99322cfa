/**
 * `deno task sweep --backend slurm` through the real scheduler: a single-node cluster on localhost
 * (`scripts/slurm_local.sh`, which `.ci/run` starts; started here when it is not running and this is root).
 * Skipped, with a visible message, only when Slurm cannot start.
 *
 * - a sweep of 2 experiments × 2 seeds completes; every run folder holds a complete `trainer_state.json`;
 * - a task that fails (a bad option value) is reported with its error line; the others complete;
 * - a task requeued by Slurm (`scontrol requeue`, as after a preemption) resumes from its latest checkpoint;
 *   cancelled mid-run (`scancel`) and resubmitted with `--resume`, it continues from its checkpoint again, and
 *   its metrics equal an uninterrupted run's.
 * @module
 */
import { join } from "node:path";
import { readJsonLines } from "../lib/util/mod.ts";
import { isWallClockMetric } from "../lib/grpo/mod.ts";
import { assert, assertEquals } from "../lib/util/assert.ts";
import { loadRuns } from "../lib/analysis/mod.ts";
import { findAdapters, onPath } from "../lib/study/mod.ts";
import { paramArgs, REPO_ROOT, runCli, TINY_PARAMS } from "./testing.ts";

const SCRIPT = join(REPO_ROOT, "scripts", "slurm_local.sh");
const LOCAL_CONF = join(Deno.env.get("GRPO_SLURM_DIR") ?? "/tmp/grpo-slurm", "slurm.conf");

async function sh(cmd: string, args: string[]): Promise<{ ok: boolean; text: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { ok: r.success, text: (dec.decode(r.stdout) + dec.decode(r.stderr)).trim() };
  } catch (e) {
    return { ok: false, text: (e as Error).message };
  }
}

const answers = async () =>
  (await sh("timeout", ["10", "sinfo", "-h", "-o", "%T"])).text.match(/^(idle|mixed|allocated)/m) !== null;

let startedHere = false;
/** Null when a cluster answers (found or started), else why not. */
async function ensureSlurm(): Promise<string | null> {
  if (!onPath("sbatch") || !onPath("sinfo")) {
    return "Slurm is not installed (apt-get install slurm-wlm munge)";
  }
  if (Deno.env.get("SLURM_CONF") === undefined) Deno.env.set("SLURM_CONF", LOCAL_CONF);
  if (await answers()) return null;
  Deno.env.set("SLURM_CONF", LOCAL_CONF);
  if (await answers()) return null;
  if (Deno.uid() !== 0) {
    return "no cluster answers and only root can start one (scripts/slurm_local.sh start)";
  }
  const r = await sh(SCRIPT, ["start"]);
  if (!r.ok) return `scripts/slurm_local.sh start failed: ${r.text.split("\n").at(-1)}`;
  startedHere = true;
  return (await answers()) ? null : "the local cluster started but does not answer";
}

const skip = await ensureSlurm();
if (skip) console.warn(`SKIPPED the Slurm sweep tests: ${skip}`);
globalThis.addEventListener("unload", () => {
  if (startedHere) new Deno.Command(SCRIPT, { args: ["stop"], stdout: "null", stderr: "null" }).outputSync();
});

const ROOT = await Deno.makeTempDir({ prefix: "sweep-slurm-test-" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(ROOT, { recursive: true });
  } catch (e) {
    console.warn(`sweep slurm test: could not remove ${ROOT} (${(e as Error).message})`);
  }
});

/** Tiny runs on one thread each (the node has 2 CPUs: two tasks at once). */
const TINY: Record<string, unknown> = {
  ...TINY_PARAMS,
  max_steps: 2,
  max_completion_length: 16,
  eval_steps: 0,
};
const SLURM = ["--backend", "slurm", "--cpus-per-task", "1", "--poll", "1", "--timeout", "240"];

type Manifest = { runs: { id: string; state: string; reason?: string; job?: string; dir: string }[] };
const manifest = async (dir: string): Promise<Manifest> =>
  JSON.parse(await Deno.readTextFile(join(dir, "sweep.json")));

Deno.test({
  name:
    "slurm: 2 experiments × 2 seeds as one job array; every run folder holds a complete trainer_state.json",
  ignore: skip !== null,
  sanitizeResources: false,
  fn: async () => {
    const out = join(ROOT, "grid");
    const r = await runCli("cli/sweep.ts", [
      ...SLURM,
      "--experiments",
      "math_hard,math_soft",
      "--seeds",
      "1,2",
      ...paramArgs(TINY),
      "--out",
      out,
    ]);
    assertEquals(r.code, 0, { msg: r.stderr + r.stdout });
    const job = r.stderr.match(/submitted job array (\d+) with 4 runs/)?.[1];
    assert(job, r.stderr);
    const m = await manifest(out);
    assertEquals(m.runs.map((x) => x.id), [
      "math_hard_seed1",
      "math_hard_seed2",
      "math_soft_seed1",
      "math_soft_seed2",
    ]);
    assertEquals(m.runs.map((x) => x.state), ["done", "done", "done", "done"]);
    assertEquals(m.runs.map((x) => x.job), [0, 1, 2, 3].map((i) => `${job}_${i}`), {
      msg: "one array task per run",
    });
    for (const run of m.runs) {
      const ts = JSON.parse(await Deno.readTextFile(join(out, run.dir, "trainer_state.json")));
      assertEquals([ts.global_step, ts.max_steps], [TINY.max_steps, TINY.max_steps], { msg: run.id });
      assert(
        ts.log_history.some((h: { step: number; loss?: number }) => h.step === TINY.max_steps && "loss" in h),
        run.id,
      );
      const rc = JSON.parse(await Deno.readTextFile(join(out, run.dir, "run_config.json")));
      assertEquals([rc.experiment, rc.seed], [run.id.split("_seed")[0], Number(run.id.split("_seed")[1])]);
    }
    assert(r.stdout.includes("4 runs: 4 done, 0 running, 0 pending, 0 failed"), r.stdout);
    // Comparison and Testing read the sweep folder as they read outputs/: every run, every adapter.
    const loaded = await loadRuns([out]);
    assertEquals(loaded.runs.length, 4, { msg: loaded.warnings.join("\n") });
    const adapters = await findAdapters(out);
    assertEquals(adapters.adapters.map((a) => a.name).sort(), m.runs.map((x) => x.id).sort());
  },
});

Deno.test({
  name: "slurm: a task that fails (bad option) is reported with its error line; the others complete",
  ignore: skip !== null,
  sanitizeResources: false,
  fn: async () => {
    const out = join(ROOT, "failing");
    const { eval_size: _, ...params } = TINY;
    const r = await runCli("cli/sweep.ts", [
      ...SLURM,
      "--experiments",
      "math_hard",
      "--seeds",
      "1",
      "--grid",
      "eval_size=100000,4",
      ...paramArgs(params),
      "--out",
      out,
    ]);
    assertEquals(r.code, 1, { msg: r.stderr + r.stdout });
    const m = await manifest(out);
    assertEquals(m.runs.map((x) => [x.id, x.state]), [
      ["math_hard_eval_size-100000_seed1", "failed"],
      ["math_hard_eval_size-4_seed1", "done"],
    ]);
    const line = "option eval_size = 100000 leaves no training examples";
    assert(m.runs[0].reason?.includes(line), m.runs[0].reason);
    assert(
      r.stdout.includes(`failed  math_hard_eval_size-100000_seed1`) && r.stdout.includes(line),
      r.stdout,
    );
    const status = await runCli("cli/sweep.ts", ["--status", "--out", out]);
    assert(status.stdout.includes(line), status.stdout);
    // --resume without --backend stays on Slurm and resubmits only the failed run (which fails again).
    const again = await runCli("cli/sweep.ts", ["--resume", "--poll", "1", "--timeout", "120", "--out", out]);
    assertEquals(again.code, 1, { msg: again.stderr });
    assert(/submitted job array \d+ with 1 runs/.test(again.stderr), again.stderr);
    assert(again.stdout.includes(line), again.stdout);
  },
});

/** Metrics rows without the wall-clock fields. */
const metrics = async (dir: string) =>
  (await readJsonLines<Record<string, number>>(join(dir, "metrics.jsonl"))).rows.map((r) =>
    Object.fromEntries(Object.entries(r).filter(([k]) => !isWallClockMetric(k)))
  );

/** The task record of run `id`. */
const record = async (out: string, id: string) =>
  JSON.parse(await Deno.readTextFile(join(out, "logs", `${id}.json`))) as {
    attempt: number;
    state: string;
    resumed_from: string | null;
  };

/** Polls `cond` every 100 ms for up to 3 minutes; `why` adds the scheduler's view to a timeout. */
async function until(what: string, cond: () => Promise<boolean>, why?: () => Promise<string>): Promise<void> {
  const t0 = Date.now();
  while (!(await cond().catch(() => false))) {
    if (Date.now() - t0 > 180_000) {
      assert(false, `${what}: not within 3 minutes${why ? ` (${await why()})` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const stepOf = (checkpoint: string | null) => Number(/checkpoint-(\d+)$/.exec(checkpoint ?? "")?.[1]);

Deno.test({
  name:
    "slurm: a requeued task resumes from its checkpoint; scancel, then --resume continues; metrics equal an uninterrupted run",
  ignore: skip !== null,
  sanitizeResources: false,
  fn: async () => {
    const out = join(ROOT, "cancel");
    const params = { ...TINY, max_steps: 40, max_completion_length: 24, temperature: 1.5, threads: 1 };
    const base = join(ROOT, "uninterrupted");
    const uninterrupted = runCli("cli/experiment.ts", [
      "math_hard",
      ...paramArgs({ ...params, seed: 3, output_dir: base }),
    ]);
    const spec = ["--experiments", "math_hard", "--seeds", "3", ...paramArgs(params), "--out", out];
    const sub = await runCli("cli/sweep.ts", [...SLURM, "--no-wait", ...spec]);
    assertEquals(sub.code, 0, { msg: sub.stderr });
    const task = `${sub.stderr.match(/submitted job array (\d+)/)?.[1]}_0`;
    const id = "math_hard_seed3", runDir = join(out, id);
    const exists = (p: string) => async () => (await Deno.stat(p).catch(() => null)) !== null;

    // Slurm requeues the task (as after a preemption or a node failure); it comes back and resumes.
    await until("checkpoint-2", exists(join(runDir, "checkpoint-2")));
    // Let the batch step settle first: a requeue racing Slurm's launch bookkeeping can end the job FAILED.
    await new Promise((r) => setTimeout(r, 1500));
    assert((await sh("scontrol", ["requeue", task])).ok, "scontrol requeue");
    // Slurm holds a requeued job back for a while (BeginTime); once it is pending again, let it start now.
    await until("the requeued task is pending", async () => {
      const q = await sh("squeue", ["-h", "-t", "all", "-j", task, "-o", "%T"]);
      return q.text.trim() === "PENDING";
    });
    // The old batch step must be gone from the node before the task starts again.
    await until("attempt 1 ended", async () => (await record(out, id)).state !== "running");
    await new Promise((r) => setTimeout(r, 1500));
    await until("attempt 2 resumed", async () => {
      await sh("scontrol", ["update", `JobId=${task}`, "StartTime=now"]);
      return (await record(out, id)).attempt === 2;
    }, () => sh("squeue", ["-h", "-t", "all", "-j", task, "-o", "%T %r %S"]).then((q) => q.text));
    const second = await record(out, id);
    const requeuedFrom = stepOf(second.resumed_from);
    assert(requeuedFrom >= 2, `the requeued task resumed from a checkpoint: ${second.resumed_from}`);

    // scancel mid-run: the sweep reports it failed (CANCELLED); --resume resubmits it, and only it.
    await until("a checkpoint after the requeue", exists(join(runDir, `checkpoint-${requeuedFrom + 2}`)));
    assert((await sh("scancel", [task])).ok, "scancel");
    // The run checkpoints on scancel's SIGTERM before Slurm reports the job CANCELLED: wait for both.
    const statusNow = () => runCli("cli/sweep.ts", ["--status", "--out", out]);
    await until(
      "cancelled",
      async () => /failed {2}math_hard_seed3 .*CANCELLED/.test((await statusNow()).stdout),
    );
    const status = await statusNow();
    assert(/failed {2}math_hard_seed3 .*CANCELLED/.test(status.stdout), status.stdout);
    const follow = await runCli("cli/sweep.ts", [...SLURM, "--resume", "--out", out]);
    assertEquals(follow.code, 0, { msg: follow.stderr + follow.stdout });
    assert(/submitted job array \d+ with 1 runs/.test(follow.stderr), follow.stderr);
    const third = await record(out, id);
    assertEquals(third.attempt, 3);
    const from = stepOf(third.resumed_from);
    assert(from > requeuedFrom && from < params.max_steps, `resumed mid-run: ${third.resumed_from}`);
    const log = await Deno.readTextFile(join(out, "logs", `${id}.log`));
    assert(log.includes(`resuming math_hard from ${runDir}/checkpoint-${from}`), log);

    const u = await uninterrupted;
    assertEquals(u.code, 0, { msg: u.stderr });
    const [a, b] = [await metrics(base), await metrics(runDir)];
    assertEquals(b.map((r) => r.step), a.map((r) => r.step), { msg: "the same steps are logged" });
    for (let i = 0; i < a.length; i++) assertEquals(b[i], a[i], { msg: `metrics row of step ${a[i].step}` });
    assert(a.some((r) => r.loss !== 0 && r.grad_norm > 1e-3), "the compared run actually learns");
  },
});

Deno.test({
  name:
    "slurm: a task signalled mid-run (scancel --signal=TERM, then scontrol requeue) resumes from its SIGTERM checkpoint, not step 0",
  ignore: skip !== null,
  sanitizeResources: false,
  fn: async () => {
    const out = join(ROOT, "preempt");
    // save_steps 0: the only checkpoints are the ones the signals made the run write.
    // Long enough (tiny steps take milliseconds) that the second signal always lands mid-run, not after the end.
    const params = { ...TINY, max_steps: 150, temperature: 1.5, threads: 1, save_steps: 0 };
    const base = join(ROOT, "preempt-uninterrupted");
    const uninterrupted = runCli("cli/experiment.ts", [
      "math_hard",
      ...paramArgs({ ...params, seed: 4, output_dir: base }),
    ]);
    const spec = ["--experiments", "math_hard", "--seeds", "4", ...paramArgs(params), "--out", out];
    const sub = await runCli("cli/sweep.ts", [...SLURM, "--no-wait", ...spec]);
    assertEquals(sub.code, 0, { msg: sub.stderr });
    const task = `${sub.stderr.match(/submitted job array (\d+)/)?.[1]}_0`;
    const id = "math_hard_seed4", runDir = join(out, id), logPath = join(out, "logs", `${id}.log`);
    const logText = () => Deno.readTextFile(logPath).catch(() => "");
    const startNow = async (attempt: number) => {
      await until(`attempt ${attempt} started`, async () => {
        await sh("scontrol", ["update", `JobId=${task}`, "StartTime=now"]);
        return (await record(out, id)).attempt === attempt;
      }, () => sh("squeue", ["-h", "-t", "all", "-j", task, "-o", "%T %r %S"]).then((q) => q.text));
    };

    // 1. A signal to the task alone (as `--signal=B:TERM@…` sends ahead of the time limit): the run
    //    checkpoints, the task records `interrupted` and requeues itself.
    await until("step 2 of attempt 1", async () => /\[train\] step 2\/150/.test(await logText()));
    assert((await sh("scancel", ["--signal=TERM", "--batch", task])).ok, "scancel --signal=TERM --batch");
    await until("attempt 1 interrupted", async () => (await record(out, id)).state === "interrupted");
    const first = Number(/stopped after step (\d+) \(SIGTERM\)/.exec(await logText())?.[1]);
    assert(first >= 2 && first < params.max_steps, `attempt 1 stopped mid-run (step ${first})`);
    await until("the task requeued itself", async () => (await logText()).includes("requeued job"));
    // A relaunch within the same second as the requeue is refused by slurmd ("Job credential revoked"),
    // which ends the job FAILED: let a few seconds pass before asking for the start.
    await new Promise((r) => setTimeout(r, 2500));
    await startNow(2);
    assertEquals((await record(out, id)).resumed_from, join(runDir, `checkpoint-${first}`));

    // 2. A requeue by Slurm (preemption): every process of the job gets SIGTERM; the run checkpoints again.
    await until(`a step after ${first + 1}`, async () => {
      const { rows } = await readJsonLines<{ step: number }>(join(runDir, "metrics.jsonl"));
      return Math.max(...rows.map((r) => r.step)) > first + 1;
    });
    await new Promise((r) => setTimeout(r, 1500)); // let Slurm's launch bookkeeping settle (see above)
    assert((await sh("scontrol", ["requeue", task])).ok, "scontrol requeue");
    await until("attempt 2 interrupted", async () => (await record(out, id)).state === "interrupted");
    const stops = [...(await logText()).matchAll(/stopped after step (\d+) \(SIGTERM\)/g)].map((m) =>
      Number(m[1])
    );
    const second = stops.at(-1)!;
    assert(stops.length === 2 && second > first, `attempt 2 stopped with a checkpoint: ${stops}`);
    await new Promise((r) => setTimeout(r, 2500));
    await startNow(3);
    assertEquals((await record(out, id)).resumed_from, join(runDir, `checkpoint-${second}`));

    const follow = await runCli("cli/sweep.ts", [...SLURM, "--resume", "--out", out]);
    assertEquals(follow.code, 0, { msg: follow.stderr + follow.stdout });
    assert(follow.stdout.includes("1 runs: 1 done"), follow.stdout);
    const u = await uninterrupted;
    assertEquals(u.code, 0, { msg: u.stderr });
    const [a, b] = [await metrics(base), await metrics(runDir)];
    assertEquals(b.map((r) => r.step), a.map((r) => r.step), { msg: "the same steps are logged" });
    for (let i = 0; i < a.length; i++) assertEquals(b[i], a[i], { msg: `metrics row of step ${a[i].step}` });
  },
});
