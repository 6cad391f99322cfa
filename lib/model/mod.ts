/**
 * Llama-family causal LMs (Llama, Qwen2, Qwen3, SmolLM) on the project's ONNX engine: loading Hugging Face folders
 * or hub ids, tokenizers and chat templates, LoRA adapters in PEFT format, KV-cache generation, log-probs,
 * a LoRA training step over a loss it is given (the loss is the caller's: lib/grpo builds GRPO's), the
 * full-weight training step, AdamW, and export to transformers.js.
 * @module
 */
export { CausalLM, nextTokenPositions } from "./causal_lm.ts";
export type {
  GenerateOptions,
  GenerateResult,
  ModelLoadOptions,
  ModelParts,
  TokenBatch,
  TrainStepOptions,
  TrainStepResult,
} from "./causal_lm.ts";
export {
  ARCHITECTURE_TABLE,
  checkWeightsFit,
  expectedWeightShapes,
  HF_ARCHITECTURE,
  loadModelConfig,
  parseModelConfig,
} from "./config.ts";
export type { Architecture, ArchitectureRow, ModelConfig } from "./config.ts";
export { hubCacheDir, resolveModelDir } from "./hub.ts";
export { loadTokenizer, tokenizerFromJson } from "./tokenizer.ts";
export type { ChatMessage, Tokenizer } from "./tokenizer.ts";
export { TINY_CHAT_TEMPLATE, TINY_SPECIAL_TOKENS, trainBpe, writeTokenizerFiles } from "./bpe.ts";
export { loadModelWeights, readSafetensors, readSafetensorsHeader, writeSafetensors } from "./safetensors.ts";
export { initLora, loadLora, loraShapes, saveLora, validateLoraSpec } from "./lora.ts";
export type { LoraAdapter } from "./lora.ts";
export { LORA_TARGETS, projectionDims, weightShapes } from "./llama.ts";
export type { LlamaShape, LoraTarget } from "./llama.ts";
export { buildDecodeGraph, buildLogprobGraph, tokenEntropy } from "./graphs.ts";
export type { GraphOptions, LoraSpec, Weight } from "./graphs.ts";
export { buildLmTrainGraph, buildLoraTrainGraph } from "./train_graph.ts";
export type { LoraTrainGraphOptions, LossContext, TrainLoss } from "./train_graph.ts";
export { sequenceMeanInputs } from "./inputs.ts";
export { adamwInit, adamwStep, clipGradNorm, gradNorm } from "./adamw.ts";
export type { AdamWOptions, AdamWState } from "./adamw.ts";
export { argmax, logSoftmaxAt, sampleToken } from "./sampling.ts";
export type { SamplingOptions } from "./sampling.ts";
export { exportTransformersJs } from "./export_tfjs.ts";
export { openTransformersJs, tfjsInt64 } from "./export_tfjs.ts";
export type { TfjsCausalLM, TfjsTokenizer } from "./export_tfjs.ts";
export { countParams, estimateGrpoMemory } from "./memory.ts";
export type { MemoryEstimate, MemoryWorkload } from "./memory.ts";
export { ROLLOUT_QUANTIZATIONS } from "./quantize.ts";
export type { RolloutQuantization } from "./quantize.ts";
export { fastDecodeUnsupported } from "./decode_graph.ts";
export type { Tensors } from "./adamw.ts";
