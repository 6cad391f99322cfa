/**
 * The part of `@google/genai@1.30.0`'s typings that lib/judge uses, copied from its
 * `dist/node/node.d.ts` (same names and shapes, fields trimmed to what we touch).
 *
 * Why a copy: the SDK's own typings import `google-auth-library`, whose typings pull `@types/node`
 * into type-checking. That replaces Deno's globals and `node:*` typings for every file checked
 * together with lib/judge (`setTimeout` then returns `NodeJS.Timeout`, and `lib/util/assert.ts`
 * stops type-checking). `judge.ts` and friends load this file with `// @ts-types="./genai_types.d.ts"`;
 * at run time the real SDK runs. `genai_types_test.ts` checks this copy against the real typings.
 * Update both when the pinned SDK version changes.
 * @module
 */

/** Schema value types (OpenAPI subset). */
export declare enum Type {
  TYPE_UNSPECIFIED = "TYPE_UNSPECIFIED",
  STRING = "STRING",
  NUMBER = "NUMBER",
  INTEGER = "INTEGER",
  BOOLEAN = "BOOLEAN",
  ARRAY = "ARRAY",
  OBJECT = "OBJECT",
  NULL = "NULL",
}

/** Structured-output schema (OpenAPI 3.0 subset). */
export declare interface Schema {
  anyOf?: Schema[];
  description?: string;
  enum?: string[];
  format?: string;
  items?: Schema;
  maximum?: number;
  minimum?: number;
  nullable?: boolean;
  properties?: Record<string, Schema>;
  propertyOrdering?: string[];
  required?: string[];
  title?: string;
  type?: Type;
}

/** One part of a content turn. */
export declare interface Part {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
}

/** One turn. */
export declare interface Content {
  parts?: Part[];
  role?: string;
}

/** HTTP options of the client or of one request. */
export declare interface HttpOptions {
  baseUrl?: string;
  apiVersion?: string;
  headers?: Record<string, string>;
  timeout?: number;
  extraBody?: Record<string, unknown>;
}

/** Client options (Gemini API subset). */
export declare interface GoogleGenAIOptions {
  vertexai?: boolean;
  apiKey?: string;
  apiVersion?: string;
  httpOptions?: HttpOptions;
}

/** Thinking budget of 2.5-series models. */
export declare interface ThinkingConfig {
  includeThoughts?: boolean;
  thinkingBudget?: number;
}

/** Generation config (subset). */
export declare interface GenerateContentConfig {
  httpOptions?: HttpOptions;
  abortSignal?: AbortSignal;
  systemInstruction?: Content | string;
  temperature?: number;
  topP?: number;
  topK?: number;
  candidateCount?: number;
  maxOutputTokens?: number;
  seed?: number;
  responseMimeType?: string;
  responseSchema?: Schema | unknown;
  responseJsonSchema?: unknown;
  thinkingConfig?: ThinkingConfig;
}

/** Parameters of `models.generateContent`. */
export declare interface GenerateContentParameters {
  model: string;
  contents: Content[] | Content | string;
  config?: GenerateContentConfig;
}

/** One candidate answer. */
export declare interface Candidate {
  content?: Content;
  finishMessage?: string;
  finishReason?: string;
  index?: number;
}

/** Why a prompt was blocked, if it was. */
export declare interface GenerateContentResponsePromptFeedback {
  blockReason?: string;
  blockReasonMessage?: string;
}

/** Response of `models.generateContent`. */
export declare class GenerateContentResponse {
  candidates?: Candidate[];
  modelVersion?: string;
  promptFeedback?: GenerateContentResponsePromptFeedback;
  get text(): string | undefined;
}

/** The models module. */
export declare class Models {
  generateContent: (params: GenerateContentParameters) => Promise<GenerateContentResponse>;
}

/** The client. */
export declare class GoogleGenAI {
  readonly models: Models;
  constructor(options: GoogleGenAIOptions);
}

/** Details of an API error. */
export declare interface ApiErrorInfo {
  message: string;
  status: number;
}

/** An HTTP error answer; `message` is the JSON error body. */
export declare class ApiError extends Error {
  status: number;
  constructor(options: ApiErrorInfo);
}
