/**
 * Datasets: GSM8K and Alpaca loaders (local files or a cached hub download, bad rows counted and
 * reported), the project's generated offline math and dialogue sets, deterministic held-out
 * splits, and the prompts used by training and evaluation.
 * @module
 */
export * from "./types.ts";
export * from "./generated.ts";
export * from "./gsm8k.ts";
export * from "./alpaca.ts";
export * from "./prompts.ts";
export { DATASETS_SERVER, defaultCacheDir, type DownloadHubOptions, downloadHubRows } from "./hub.ts";
