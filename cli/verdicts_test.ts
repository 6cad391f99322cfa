import { join } from "node:path";
import { assert, assertEquals } from "../lib/util/assert.ts";
import { EXPECTATIONS, loadRuns, studyVerdicts, tableFromRows } from "../lib/analysis/mod.ts";
import { writeFakeRun } from "../lib/analysis/fixtures.ts";
import { EVAL_METRICS } from "../lib/util/mod.ts";
import { experimentDefinitions } from "../lib/study/mod.ts";
import { verdictReport, verdictTable } from "./verdicts.ts";

Deno.test("verdictTable: one row per expected result, with the outcome and the numbers it used", () => {
  const rows = [1, 2, 3].flatMap((seed) =>
    [0, 10].map((step) => ({
      source: "ours" as const,
      experiment: "math_hard",
      seed,
      step,
      metric: EVAL_METRICS.accuracy,
      value: step ? 0.5 + seed / 100 : 0.1,
    }))
  );
  const table = verdictTable(studyVerdicts(tableFromRows(rows)));
  const lines = table.split("\n");
  assertEquals(lines.length, 2 + EXPECTATIONS.length);
  assert(
    lines[2].startsWith("| math hard works | **inconclusive** | math_hard strict-accuracy gain +42.0 points"),
    lines[2],
  );
});

Deno.test("verdictReport: the method, and a run changed with --param left out with its line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cli-verdicts-" });
  try {
    const defs = experimentDefinitions();
    assertEquals(defs.math_hard.reward_funcs, ["math_hard", "format"]);
    assertEquals(defs.math_hard.max_steps, 40);
    assert(typeof defs.dialogue_soft.max_steps === "number", "dialogue runs are held to their steps too");
    assert(
      !("threads" in defs.math_hard) && !("output_dir" in defs.math_hard),
      "operational options are free",
    );
    await writeFakeRun(dir, {
      experiment: "math_hard",
      seed: 1,
      steps: 4,
      config: { ...defs.math_hard, max_steps: 4 },
    });
    const out = verdictReport(await loadRuns(join(dir)), { definitions: defs });
    assert(out.includes("Method: Each claim is a per-seed number"), out);
    assert(
      out.includes(
        "\nmath_hard seed 1 left out: options differ from the experiment's definition: max_steps 4 instead of 40",
      ),
      out,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
