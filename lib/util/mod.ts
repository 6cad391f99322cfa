/**
 * Shared utilities: one-line user errors, crash-safe writes, a seeded RNG, progress lines.
 * @module
 */
export * from "./errors.ts";
export * from "./atomic.ts";
export * from "./rng.ts";
export * from "./progress.ts";
export * from "./stats.ts";
export * from "./notices.ts";
export * from "./run_folder.ts";
export * from "./cache_dir.ts";
