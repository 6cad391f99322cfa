/**
 * Held-out evaluation: greedy math accuracy and judged dialogue quality. Pretraining, GRPO and
 * `deno task eval-math` all call these.
 * @module
 */
export * from "./math.ts";
export * from "./dialogue.ts";
export * from "./compare.ts";
export * from "./testing_results.ts";
