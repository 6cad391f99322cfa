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
export * from "./folder_lock.ts";
export * from "./cache_dir.ts";
export * from "./jupyter.ts";
export { numberFlag, parseFlags, parseKeyValue } from "./cli.ts";
export { parseKeyValues } from "./cli.ts";
export { badOption, checkOptionValues, formatOptionHelp, opt, optionDefaults } from "./option_table.ts";
export type { OptionValues } from "./option_table.ts";
export * from "./binomial.ts";
export * from "./metric_names.ts";
