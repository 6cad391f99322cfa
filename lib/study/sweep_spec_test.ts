import { assert, assertEquals, assertThrows } from "../util/assert.ts";
import { UserError } from "../util/mod.ts";
import { EXPERIMENT_IDS } from "./experiments.ts";
import { checkSweepSpec, expandSweep } from "./sweep_spec.ts";

const base = { experiments: ["math_hard", "math_soft"], seeds: [1, 2], output_dir: "outputs/x" };

Deno.test("expandSweep: experiments × seeds, ids <experiment>_seed<S>, params carry the seed", () => {
  const runs = expandSweep(checkSweepSpec(base));
  assertEquals(runs.map((r) => r.id), [
    "math_hard_seed1",
    "math_hard_seed2",
    "math_soft_seed1",
    "math_soft_seed2",
  ]);
  assertEquals(runs.map((r) => r.index), [0, 1, 2, 3]);
  assertEquals(runs[1].params, { seed: 2 });
  assertEquals(runs[1].model, null);
});

Deno.test("expandSweep: models and grid add id parts; ids do not depend on the grid's other values", () => {
  const spec = checkSweepSpec({
    ...base,
    experiments: ["math_hard"],
    seeds: [7],
    models: ["data/tiny", "HuggingFaceTB/SmolLM2-135M-Instruct"],
    params: { max_steps: 3 },
    grid: { learning_rate: [0.001, 0.0005], beta: [0] },
  });
  const runs = expandSweep(spec);
  assertEquals(runs.length, 4);
  assertEquals(runs[0].id, "math_hard_tiny_learning_rate-0.001_beta-0_seed7");
  assertEquals(runs[3].id, "math_hard_SmolLM2-135M-Instruct_learning_rate-0.0005_beta-0_seed7");
  assertEquals(runs[3].params, {
    max_steps: 3,
    learning_rate: 0.0005,
    beta: 0,
    seed: 7,
    model: "HuggingFaceTB/SmolLM2-135M-Instruct",
  });
  // Another seed added to the sweep leaves the existing ids unchanged.
  const more = expandSweep(checkSweepSpec({ ...spec, seeds: [7, 8] })).map((r) => r.id);
  for (const r of runs) assert(more.includes(r.id), r.id);
});

Deno.test("checkSweepSpec: one-line errors for bad descriptions", () => {
  const bad: [unknown, string][] = [
    [{ ...base, experiments: ["math_nope"] }, `unknown experiment "math_nope"`],
    [{ ...base, experiments: [] }, "the grid is empty: no experiments given"],
    [{ ...base, seeds: [] }, "the grid is empty: no seeds given"],
    [{ ...base, grid: { beta: [] } }, "the grid is empty: grid.beta has no values"],
    [{ ...base, seeds: [1.5] }, "seeds must be a list of integers"],
    [{ ...base, params: { learnig_rate: 1 } }, `unknown option in params "learnig_rate"`],
    [{ ...base, params: { seed: 3 } }, "params.seed is set per run by the sweep; give seeds"],
    [{ ...base, grid: { output_dir: ["a"] } }, "grid.output_dir is set per run"],
    [{ ...base, params: { beta: 0 }, grid: { beta: [0] } }, "option beta is both in params and in grid"],
    [{ ...base, params: { learning_rate: -1 } }, "run math_hard_seed1: "],
    [{ ...base, models: ["a/tiny", "b/tiny"] }, "would share the id math_hard_tiny_seed1"],
    [{ ...base, output_dir: "" }, "output_dir (the sweep folder) is required"],
    [{ ...base, seed: [1] }, `unknown sweep field "seed"`],
    [[1], "the description must be a JSON object"],
  ];
  for (const [spec, msg] of bad) {
    const e = assertThrows(() => checkSweepSpec(spec), { cls: UserError, includes: msg });
    assert(!e.message.includes("\n"), `one line: ${e.message}`);
  }
});

Deno.test("checkSweepSpec: the experiment list comes from the experiments table", () => {
  const runs = expandSweep(checkSweepSpec({ ...base, experiments: [...EXPERIMENT_IDS], seeds: [1] }));
  assertEquals(runs.map((r) => r.experiment), [...EXPERIMENT_IDS]);
});

Deno.test("checkSweepSpec: a sweep that names no seeds runs the study's five (1–5)", () => {
  const spec = checkSweepSpec({ experiments: ["math_hard"], output_dir: "outputs/x" });
  assertEquals(spec.seeds, [1, 2, 3, 4, 5]);
  assertEquals(expandSweep(spec).map((r) => r.id).at(-1), "math_hard_seed5");
});
