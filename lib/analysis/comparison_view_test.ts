import { join } from "node:path";
import { assert, assertEquals } from "../util/assert.ts";
import { loadComparison } from "./comparison_view.ts";
import { writeFakeRun } from "./fixtures.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "comparison-view-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

Deno.test("loadComparison: nothing found is an empty comparison; runs found give every section", async () => {
  const empty = await loadComparison([]);
  assertEquals(empty.loaded.plain, "no runs loaded");
  assertEquals(empty.data.statistics.runs, []);
  assertEquals(empty.figures.figures, []);
  assertEquals(empty.findings.plain, "Findings:\nNo findings: no statistics could be computed.");

  for (const seed of [1, 2]) {
    await writeFakeRun(join(ROOT, "runs"), { experiment: "math_hard", seed, steps: 12 });
  }
  const view = await loadComparison([join(ROOT, "runs")], { window: 3 });
  assertEquals(view.loaded.plain.split("\n").length, 2, { msg: view.loaded.plain });
  assert(view.loaded.plain.startsWith("math_hard seed 1: 13 steps"), view.loaded.plain);
  assertEquals(view.data.statistics.experiments.map((s) => [s.experiment, s.seeds, s.window]), [
    ["math_hard", [1, 2], 3],
  ]);
  assert(view.statistics.plain.startsWith("math_hard (2 seeds): reward "), view.statistics.plain);
  assert(view.findings.plain.includes("math_hard: mean training reward went from"), view.findings.plain);
  assert(view.figures.figures.some((f) => f.id === "reward_functions"), "the study's dashboard");
  assertEquals(view.verdicts.title, "Verdicts");
});
