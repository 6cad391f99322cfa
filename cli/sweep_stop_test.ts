/**
 * A local sweep stops on SIGTERM as on Ctrl-C (issue 21): no new run starts, the running run is passed the
 * signal and checkpoints, the manifest says `interrupted`, the command exits 143; `--resume` continues the
 * run from its SIGTERM checkpoint and finishes the grid, with the metrics of an uninterrupted sweep. And two
 * sweeps into one folder: the second stops with one line naming the first.
 * @module
 */
import { join } from "node:path";
import { readJsonLines } from "../lib/util/mod.ts";
import { isWallClockMetric } from "../lib/grpo/mod.ts";
import { assert, assertEquals } from "../lib/util/assert.ts";
import { paramArgs, runCli, spawnCli, TINY_PARAMS } from "./testing.ts";

const ROOT = await Deno.makeTempDir({ prefix: "sweep-stop-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

/** save_steps 0: the only checkpoint of an interrupted run is the one its SIGTERM wrote. */
const PARAMS = { ...TINY_PARAMS, max_steps: 4, temperature: 1.5, warmup_ratio: 0, save_steps: 0 };
const spec = (
  out: string,
) => ["--experiments", "math_hard", "--seeds", "1,2", ...paramArgs(PARAMS), "--out", out];

type Row = Record<string, number>;
async function metrics(dir: string): Promise<Row[]> {
  const { rows, torn } = await readJsonLines<Row>(join(dir, "metrics.jsonl"));
  assertEquals(torn, 0, { msg: `${dir}/metrics.jsonl has a torn line` });
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !isWallClockMetric(k))));
}
type Manifest = { runs: { id: string; state: string; reason?: string; dir: string }[] };
const manifest = async (dir: string): Promise<Manifest> =>
  JSON.parse(await Deno.readTextFile(join(dir, "sweep.json")));

Deno.test({
  name:
    "sweep: SIGTERM starts no new run, the running one checkpoints (interrupted); --resume = an uninterrupted sweep",
  sanitizeResources: false,
  fn: async () => {
    const base = join(ROOT, "uninterrupted");
    const uninterrupted = runCli("cli/sweep.ts", spec(base));
    const out = join(ROOT, "sigterm");
    const p = spawnCli("cli/sweep.ts", spec(out));
    await p.waitFor(/math_hard_seed1 started/);
    await p.waitFor(/\[train\] step 1\/4/);
    p.child.kill("SIGTERM");
    const r = await p.finish();
    assertEquals(r.code, 143, { msg: r.stderr });
    assert(
      r.stderr.includes("sweep: SIGTERM: no new run starts; the running runs checkpoint and stop"),
      r.stderr,
    );
    assert(!r.stderr.includes("math_hard_seed2 started"), r.stderr);
    const m = await manifest(out);
    assertEquals(m.runs.map((x) => x.state), ["interrupted", "pending"]);
    const at = Number(
      /stopped by SIGTERM at step (\d+) \(resumes from checkpoint-\1\)/.exec(m.runs[0].reason!)?.[1],
    );
    assert(at >= 1 && at < PARAMS.max_steps, `interrupted mid-run with a checkpoint: ${m.runs[0].reason}`);
    assert(r.stdout.includes("2 runs: 0 done, 0 running, 1 pending, 0 failed, 1 interrupted"), r.stdout);

    const resumed = await runCli("cli/sweep.ts", ["--resume", "--out", out]);
    assertEquals(resumed.code, 0, { msg: resumed.stderr });
    const runDir = join(out, "math_hard_seed1");
    assert(
      resumed.stderr.includes(`resuming math_hard from ${runDir}/checkpoint-${at} (step ${at} of 4)`),
      resumed.stderr,
    );
    assertEquals((await manifest(out)).runs.map((x) => x.state), ["done", "done"]);

    const u = await uninterrupted;
    assertEquals(u.code, 0, { msg: u.stderr });
    for (const id of ["math_hard_seed1", "math_hard_seed2"]) {
      const [a, b] = [await metrics(join(base, id)), await metrics(join(out, id))];
      assertEquals(b.map((x) => x.step), a.map((x) => x.step), { msg: `${id}: the same steps are logged` });
      for (let i = 0; i < a.length; i++) {
        assertEquals(b[i], a[i], { msg: `${id}: metrics row of step ${a[i].step}` });
      }
    }
  },
});

Deno.test({
  name: "sweep: a second sweep into a folder in use stops with one line naming the first",
  sanitizeResources: false,
  fn: async () => {
    const out = join(ROOT, "two");
    const first = spawnCli("cli/sweep.ts", spec(out));
    await first.waitFor(/math_hard_seed1 started/);
    const second = await runCli("cli/sweep.ts", ["--resume", "--out", out]);
    first.child.kill("SIGTERM");
    await first.finish();
    assertEquals(second.code, 2, { msg: second.stderr });
    const lines = second.stderr.trim().split("\n");
    assertEquals(lines.length, 1, { msg: second.stderr });
    assert(
      lines[0].startsWith(
        `error: sweep folder ${out} is in use by another writer (pid ${first.child.pid} on `,
      ),
      lines[0],
    );
  },
});
