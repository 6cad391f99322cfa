/**
 * Reward functions `(ctx) => number[]` for GRPO: math correctness (hard / soft), format rewards
 * (project and TRL/Unsloth styles), perplexity and LLM-judge rewards, answer extraction, and the
 * name registry with its unique-name guard.
 * @module
 */
export * from "./types.ts";
export * from "./extract.ts";
export * from "./math.ts";
export * from "./format.ts";
export * from "./perplexity.ts";
export * from "./reference_likelihood.ts";
export * from "./judge.ts";
export * from "./registry.ts";
export * from "./scorers.ts";
