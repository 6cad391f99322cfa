import { assert, assertEquals } from "../lib/util/assert.ts";
import { studyVerdicts, tableFromRows } from "../lib/analysis/mod.ts";
import { verdictTable } from "./verdicts.ts";

Deno.test("verdictTable: one row per expected result, with the outcome and the numbers it used", () => {
  const rows = [1, 2, 3].flatMap((seed) =>
    [0, 10].map((step) => ({
      source: "ours" as const,
      experiment: "math_hard",
      seed,
      step,
      metric: "eval/accuracy",
      value: step ? 0.5 + seed / 100 : 0.1,
    }))
  );
  const table = verdictTable(studyVerdicts(tableFromRows(rows)));
  const lines = table.split("\n");
  assertEquals(lines.length, 2 + 8);
  assert(
    lines[2].startsWith("| math hard works | **inconclusive** | math_hard strict-accuracy gain +42.0 points"),
    lines[2],
  );
});
