/**
 * The bench's scratch never lands where the study's runs are loaded from: with the bench's scratch layout
 * present (its models, case and a finished `math_hard` run), loading `outputs/` still finds exactly the
 * study's runs, as `deno task report` and the Comparison notebook do.
 */
import { join } from "node:path";
import { benchScratchDir, withTempDir } from "./scratch.ts";
import { loadRuns } from "../lib/analysis/mod.ts";
import { writeFakeRun } from "../lib/analysis/fixtures.ts";
import { assert, assertEquals, assertThrows } from "../lib/util/assert.ts";
import { UserError } from "../lib/util/mod.ts";

Deno.test("scratch: the bench's folders lie outside outputs/, and the study's runs load next to them", async () => {
  const root = await Deno.makeTempDir();
  const cwd = Deno.cwd(), env = Deno.env.get("GRPO_BENCH_DIR"), hf = Deno.env.get("HF_HOME");
  try {
    Deno.chdir(root);
    Deno.env.delete("GRPO_BENCH_DIR");
    Deno.env.set("HF_HOME", join(root, "hf"));
    const dir = benchScratchDir(); // the default: beside the hub cache
    assertEquals(dir, join(root, "hf", "grpo-ts", "bench"));
    assertThrows(() => benchScratchDir("outputs/bench"), { cls: UserError, includes: "inside outputs/" });
    assertThrows(() => benchScratchDir("./outputs"), { cls: UserError, includes: "inside outputs/" });
    Deno.env.set("GRPO_BENCH_DIR", "outputs/scratch");
    assertThrows(() => benchScratchDir(), { cls: UserError, includes: "inside outputs/" });
    Deno.env.delete("GRPO_BENCH_DIR");
    // the study's run, then everything the bench writes: its workload and a math_hard run of seed 42
    await writeFakeRun(join(root, "outputs"), { experiment: "math_hard", seed: 42 });
    await writeFakeRun(join(dir, "smol135m"), { experiment: "math_hard", seed: 42 });
    let tmpRun = "";
    await withTempDir("grpo-bench-", async (tmp) => {
      tmpRun = await writeFakeRun(tmp, { experiment: "math_hard", seed: 42 });
      const loaded = await loadRuns(join(root, "outputs"));
      assertEquals(loaded.runs.map((r) => [r.experiment, r.seed]), [["math_hard", 42]]);
    });
    assert(!(await Deno.stat(tmpRun).then(() => true, () => false)), "the temporary run folder is removed");
    const loaded = await loadRuns(join(root, "outputs"));
    assertEquals(loaded.runs.length, 1);
  } finally {
    Deno.chdir(cwd);
    for (const [k, v] of [["GRPO_BENCH_DIR", env], ["HF_HOME", hf]] as const) {
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
    await Deno.remove(root, { recursive: true });
  }
});
