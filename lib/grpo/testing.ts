/**
 * The test fixtures of the trainer (a tiny chat model, small math example sets), kept here for the tests
 * that import them from lib/grpo; they live in lib/rewards/testing.ts.
 * @module
 */
export { type TinyChatModelOptions, tinyMathExamples, writeTinyChatModel } from "../rewards/testing.ts";
