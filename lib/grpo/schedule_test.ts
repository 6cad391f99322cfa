import { assertAlmostEquals, assertEquals } from "../util/assert.ts";
import { learningRateAt, scheduleOf, warmupSteps } from "./schedule.ts";

const at = (type: "constant" | "linear" | "cosine", warmupRatio: number) => (step: number) =>
  learningRateAt(step, { learningRate: 1, maxSteps: 10, warmupRatio, type });

Deno.test("schedules follow HF get_scheduler: update s uses the factor at s − 1", () => {
  assertEquals(warmupSteps({ maxSteps: 10, warmupRatio: 0.15 }), 2);
  assertEquals([1, 2, 3, 10].map(at("constant", 0)), [1, 1, 1, 1]);
  assertEquals([1, 2, 3, 4].map(at("constant", 0.2)), [0, 0.5, 1, 1]);
  assertEquals([1, 2, 10].map(at("linear", 0)), [1, 0.9, 0.1]);
  assertEquals([1, 2, 3, 4, 10].map(at("linear", 0.2)), [0, 0.5, 1, 0.875, 0.125]);
  const cos = at("cosine", 0.2);
  assertEquals([cos(1), cos(2), cos(3)], [0, 0.5, 1]);
  assertAlmostEquals(cos(7), 0.5, { tol: 1e-12 }); // halfway through the 8 decay steps
  assertAlmostEquals(cos(10), 0.5 * (1 + Math.cos((Math.PI * 7) / 8)), { tol: 1e-12 });
});

Deno.test("scheduleOf reads the schedule options of a config", () => {
  const cfg = { learning_rate: 2, max_steps: 10, warmup_ratio: 0.2, lr_scheduler_type: "linear" } as const;
  assertEquals(scheduleOf(cfg), { learningRate: 2, maxSteps: 10, warmupRatio: 0.2, type: "linear" });
  assertEquals(learningRateAt(4, scheduleOf(cfg)), 2 * 0.875);
});
