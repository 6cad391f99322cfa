/**
 * Building the embedded tiny model: the generated corpus, the architecture and its initialization, and
 * full-weight next-token training on the project's engine (`deno task pretrain`).
 * @module
 */
export * from "./corpus.ts";
export * from "./tiny.ts";
export * from "./train.ts";
export * from "./readme.ts";
