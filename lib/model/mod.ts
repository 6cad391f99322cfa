/**
 * Llama-family causal LMs (Llama, Qwen2, Qwen3, SmolLM) on the project's ONNX engine: loading Hugging Face folders
 * or hub ids, tokenizers and chat templates, LoRA adapters in PEFT format, KV-cache generation, log-probs,
 * GRPO and full-weight training steps, AdamW, and export to transformers.js.
 * @module
 */
export { CausalLM, nextTokenPositions } from "./causal_lm.ts";
export type { GenerateOptions, GenerateResult, LoadOptions, TokenBatch } from "./causal_lm.ts";
export {
  checkWeightsFit,
  expectedWeightShapes,
  HF_ARCHITECTURE,
  loadModelConfig,
  parseModelConfig,
} from "./config.ts";
export type { Architecture, ModelConfig } from "./config.ts";
export { hubCacheDir, resolveModelDir } from "./hub.ts";
export { loadTokenizer, tokenizerFromJson } from "./tokenizer.ts";
export type { ChatMessage, Tokenizer } from "./tokenizer.ts";
export { TINY_CHAT_TEMPLATE, TINY_SPECIAL_TOKENS, trainBpe, writeTokenizerFiles } from "./bpe.ts";
export { loadModelWeights, readSafetensors, readSafetensorsHeader, writeSafetensors } from "./safetensors.ts";
export { initLora, loadLora, loraShapes, saveLora, validateLoraSpec } from "./lora.ts";
export type { LoraAdapter } from "./lora.ts";
export { LORA_TARGETS, projectionDims, weightShapes } from "./llama.ts";
export type { LlamaShape, LoraTarget } from "./llama.ts";
export { buildDecodeGraph, buildGrpoGraph, buildLmTrainGraph, buildLogprobGraph } from "./graphs.ts";
export type { GrpoGraphOptions, LoraSpec, Weight } from "./graphs.ts";
export { perTokenPolicyLoss, tokenEntropy } from "./grpo_objective.ts";
export type { PolicyLossOptions, PolicyObjective } from "./grpo_objective.ts";
export { adamwInit, adamwStep, clipGradNorm, gradNorm } from "./adamw.ts";
export type { AdamWOptions, AdamWState } from "./adamw.ts";
export { argmax, sampleToken } from "./sampling.ts";
export type { SamplingOptions } from "./sampling.ts";
export { exportTransformersJs } from "./export_tfjs.ts";
export { writeRandomModel } from "./testing.ts";
