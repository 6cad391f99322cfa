/**
 * `deno task sweep` end to end without a scheduler: a local sweep (two runs side by side), its manifest
 * and `--resume`, and the one-line errors of bad sweep descriptions.
 * @module
 */
import { join } from "node:path";
import { assert, assertEquals } from "../lib/util/assert.ts";
import { paramArgs, runCli, spawnCli, TINY_PARAMS } from "./testing.ts";

const ROOT = await Deno.makeTempDir({ prefix: "sweep-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

/** Tiny runs; threads and eval_size are set by the tests. */
const { threads: _t, eval_size: _e, ...TINY }: Record<string, unknown> = {
  ...TINY_PARAMS,
  max_steps: 2,
  max_completion_length: 16,
};

/** Asserts a CLI run ended with exit code 2 and exactly one `error:` line containing `msg`. */
function oneLineError(r: { code: number; stderr: string }, msg: string): void {
  assertEquals(r.code, 2, { msg: r.stderr });
  const lines = r.stderr.trim().split("\n");
  assertEquals(lines.length, 1, { msg: `one line expected:\n${r.stderr}` });
  assert(lines[0].startsWith("error: ") && lines[0].includes(msg), `expected "${msg}" in: ${lines[0]}`);
}

Deno.test("sweep: bad descriptions get one-line errors (unknown experiment, empty grid, unwritable folder, no sbatch)", async () => {
  const out = join(ROOT, "bad");
  oneLineError(
    await runCli("cli/sweep.ts", ["--experiments", "math_hardd", "--seeds", "1", "--out", out]),
    `unknown experiment "math_hardd"`,
  );
  oneLineError(await runCli("cli/sweep.ts", ["--seeds", "1", "--out", out]), "the grid is empty");
  oneLineError(
    await runCli("cli/sweep.ts", ["--experiments", "math_hard", "--seeds", "", "--out", out]),
    "the grid is empty: no seeds given",
  );
  oneLineError(
    await runCli("cli/sweep.ts", [
      "--experiments",
      "math_hard",
      "--seeds",
      "1",
      "--grid",
      "beta=[]",
      "--out",
      out,
    ]),
    "the grid is empty: grid.beta has no values",
  );
  const file = join(ROOT, "a-file");
  await Deno.writeTextFile(file, "");
  oneLineError(
    await runCli("cli/sweep.ts", [
      "--experiments",
      "math_hard",
      "--seeds",
      "1",
      "--out",
      join(file, "sweep"),
    ]),
    `output folder ${join(file, "sweep")} is not writable`,
  );
  const noSlurm = await runCli(
    "cli/sweep.ts",
    ["--backend", "slurm", "--experiments", "math_hard", "--seeds", "1", "--out", out],
    { env: { PATH: "/nonexistent" } },
  );
  oneLineError(noSlurm, "no sbatch on the PATH");
  oneLineError(
    await runCli("cli/sweep.ts", [
      "--backend",
      "pbs",
      "--experiments",
      "math_hard",
      "--seeds",
      "1",
      "--out",
      out,
    ]),
    `unknown backend "pbs"`,
  );
  oneLineError(await runCli("cli/sweep.ts", ["--status", "--out", join(ROOT, "none")]), "not a sweep folder");
  oneLineError(
    await runCli("cli/sweep.ts", [
      "--backend",
      "slurm",
      "--experiments",
      "math_hard",
      "--seeds",
      "1",
      "--time",
      "00:10:00",
      "--signal-lead",
      "0",
      "--out",
      join(ROOT, "lead"),
    ]),
    '--signal-lead must be a positive integer, got "0"',
  );
});

Deno.test({
  name:
    "sweep --backend local: 2 runs side by side, manifest states, failures recorded, --resume keeps what is done",
  sanitizeResources: false,
  fn: async () => {
    const out = join(ROOT, "local");
    const args = [
      "--experiments",
      "math_hard",
      "--seeds",
      "1",
      "--grid",
      "eval_size=4,100000",
      ...paramArgs(TINY),
      "--parallel",
      "2",
      "--threads",
      "2",
      "--out",
      out,
    ];
    const r = await runCli("cli/sweep.ts", args);
    assertEquals(r.code, 1, { msg: `one run fails → exit 1\n${r.stderr}` });
    assert(r.stderr.includes("2 side by side with 1 threads each"), r.stderr);
    const m = JSON.parse(await Deno.readTextFile(join(out, "sweep.json")));
    assertEquals(m.runs.map((x: { id: string }) => x.id), [
      "math_hard_eval_size-4_seed1",
      "math_hard_eval_size-100000_seed1",
    ]);
    assertEquals(m.runs.map((x: { state: string }) => x.state), ["done", "failed"]);
    assert(
      m.runs[1].reason.includes("option eval_size = 100000 leaves no training examples"),
      m.runs[1].reason,
    );
    const ts = JSON.parse(
      await Deno.readTextFile(join(out, "math_hard_eval_size-4_seed1", "trainer_state.json")),
    );
    assertEquals(ts.global_step, TINY.max_steps);
    const rc = JSON.parse(
      await Deno.readTextFile(join(out, "math_hard_eval_size-4_seed1", "run_config.json")),
    );
    assertEquals(rc.config.threads, 1, { msg: "the threads are split between the parallel runs" });
    assert(
      r.stdout.includes("failed  math_hard_eval_size-100000_seed1 (step 0) [local]: option eval_size"),
      r.stdout,
    );

    const again = await runCli("cli/sweep.ts", args);
    oneLineError(
      again,
      "already holds this sweep (2 runs: 1 done, 0 running, 0 pending, 1 failed); continue it with --resume",
    );
    const resumed = await runCli("cli/sweep.ts", ["--resume", "--out", out]);
    assertEquals(resumed.code, 1, { msg: resumed.stderr });
    assert(resumed.stderr.includes("math_hard_eval_size-100000_seed1 started"), resumed.stderr);
    assert(!resumed.stderr.includes("math_hard_eval_size-4_seed1 started"), "a done run is not rerun");
    const status = await runCli("cli/sweep.ts", ["--status", "--out", out]);
    assertEquals(status.code, 0, { msg: status.stderr });
    assert(status.stdout.includes("2 runs: 1 done, 0 running, 0 pending, 1 failed"), status.stdout);
  },
});

Deno.test({
  name:
    "sweep --backend local: Ctrl-C stops the running run (interrupted), starts no other (exit 130); --resume runs the rest",
  sanitizeResources: false,
  fn: async () => {
    const out = join(ROOT, "sigint");
    const args = [
      "--experiments",
      "math_hard",
      "--seeds",
      "1,2",
      ...paramArgs({ ...TINY, eval_size: 4 }),
      "--out",
      out,
    ];
    const p = spawnCli("cli/sweep.ts", args);
    await p.waitFor(/math_hard_seed1 started/);
    p.child.kill("SIGINT");
    const r = await p.finish();
    assertEquals(r.code, 130, { msg: r.stderr });
    assert(r.stderr.includes("sweep: SIGINT: no new run starts"), r.stderr);
    assert(!r.stderr.includes("math_hard_seed2 started"), r.stderr);
    const m = JSON.parse(await Deno.readTextFile(join(out, "sweep.json")));
    assertEquals(m.runs.map((x: { state: string }) => x.state), ["interrupted", "pending"]);
    assert(m.runs[0].reason.startsWith("stopped by SIGINT at step "), m.runs[0].reason);
    const resumed = await runCli("cli/sweep.ts", ["--resume", "--out", out]);
    assertEquals(resumed.code, 0, { msg: resumed.stderr });
    assert(resumed.stderr.includes("math_hard_seed1 started"), "the interrupted run is continued");
    assert(resumed.stdout.includes("2 runs: 2 done"), resumed.stdout);
  },
});
