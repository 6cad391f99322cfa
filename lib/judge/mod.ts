/**
 * The LLM judge used by the dialogue rewards: Gemini through `@google/genai` with bounded
 * concurrency, timeouts, retries with jittered backoff, a cache, and counted fallbacks; plus a
 * loopback fake of the Gemini endpoint for tests (`fake_gemini.ts`, exported here too).
 * @module
 */
export { createGeminiJudge } from "./judge.ts";
export type { GeminiJudgeOptions, Judge, JudgeResult, JudgeStats } from "./judge.ts";
export {
  buildJudgePrompt,
  DEFAULT_RUBRIC,
  escapeDelimited,
  JUDGE_RESPONSE_SCHEMA,
  parseJudgeAnswer,
} from "./prompt.ts";
export type { JudgeItem } from "./prompt.ts";
export { MIN_HEURISTIC_TOKENS, overlapFallback, overlapScore, tokenize, unigramF1 } from "./fallback.ts";
export type { FallbackScorer } from "./fallback.ts";
export { JudgeCache, judgeCacheKey } from "./cache.ts";
export type { JudgeCacheOptions } from "./cache.ts";
export { extractBlock, startFakeGemini } from "./fake_gemini.ts";
export type { FakeFailKind, FakeGemini, FakeGeminiOptions, FakeGeminiRequest } from "./fake_gemini.ts";
export * from "./local_judge.ts";
export * from "./master_keys.ts";
