/**
 * The study's data: the generated pools (their seeds and size), the loaders behind the `dataset` option
 * for each kind of data, and the held-out split shared by every task (duplicate prompts dropped and
 * counted, then `eval_size` rows split off by the run's seed).
 * @module
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  type DialogueExample,
  generateDialogues,
  generateMathProblems,
  loadAlpaca,
  loadGsm8k,
  type MathExample,
  splitHeldOut,
} from "../data/mod.ts";
import { UserError } from "../util/mod.ts";
import type { GrpoConfig } from "../grpo/mod.ts";

/** Seed of the generated math pool (apart from the tiny model's pretraining corpus, seeds 0 and 1). */
export const GENERATED_MATH_SEED = 20_250_001;
/** Seed of the generated dialogue pool. */
export const GENERATED_DIALOGUE_SEED = 20_250_002;
/** Size of each generated pool (training draws from it; the held-out split comes out of it). */
export const GENERATED_POOL = 4000;

const SHARED = fileURLToPath(new URL("../../../shared/data/", import.meta.url));

/** Math problems named by option `dataset` ("generated", "gsm8k" or a GSM8K-style file / hub id). */
export async function loadMathRows(dataset: string, options: { experiment: string }): Promise<MathExample[]> {
  if (dataset === "generated") return generateMathProblems(GENERATED_POOL, { seed: GENERATED_MATH_SEED });
  if (dataset === "gsm8k") {
    const local = `${SHARED}gsm8k/train.jsonl`;
    return (await loadGsm8k(existsSync(local) ? local : "openai/gsm8k", { split: "train" })).rows;
  }
  if (dataset === "alpaca") {
    throw new UserError(`option dataset = "alpaca" is dialogue data; ${options.experiment} needs math`);
  }
  return (await loadGsm8k(dataset)).rows;
}

/** Dialogues named by option `dataset` ("generated", "alpaca" or an Alpaca-style file / hub id). */
export async function loadDialogueRows(
  dataset: string,
  options: { experiment: string },
): Promise<DialogueExample[]> {
  if (dataset === "generated") return generateDialogues(GENERATED_POOL, { seed: GENERATED_DIALOGUE_SEED });
  if (dataset === "alpaca") return (await loadAlpaca("tatsu-lab/alpaca")).rows;
  if (dataset === "gsm8k") {
    throw new UserError(`option dataset = "gsm8k" is math data; ${options.experiment} needs dialogues`);
  }
  return (await loadAlpaca(dataset)).rows;
}

/** The warning for duplicate prompts: `warning: dataset generated: 3079 of 4000 prompts were duplicates and were dropped (921 distinct left)`. */
export function duplicatesLine(source: string, counts: { total: number; distinct: number }): string {
  const { total, distinct } = counts;
  return `warning: ${source}: ${
    total - distinct
  } of ${total} prompts were duplicates and were dropped (${distinct} distinct left)`;
}

/** Options of {@linkcode splitRows}. */
export interface SplitRowsOptions<T> {
  /** The prompt of a row: rows with the same key are duplicates (the first is kept). */
  key: (row: T) => string;
  /** Names the data in messages, e.g. `dataset generated`. */
  source: string;
  /** Where the duplicates warning goes. */
  log: (line: string) => void;
}

/**
 * Drops duplicate prompts (one counted warning line), checks that `eval_size` leaves enough training
 * prompts for one step, and splits off `eval_size` held-out rows by the run's seed.
 */
export function splitRows<T>(
  rows: readonly T[],
  cfg: GrpoConfig,
  options: SplitRowsOptions<T>,
): { train: T[]; heldOut: T[] } {
  const { key, source, log } = options;
  const seen = new Set<string>();
  const unique = rows.filter((r) => !seen.has(key(r)) && (seen.add(key(r)), true));
  if (unique.length < rows.length) {
    log(duplicatesLine(source, { total: rows.length, distinct: unique.length }));
  }
  if (cfg.eval_size >= unique.length) {
    throw new UserError(
      `option eval_size = ${cfg.eval_size} leaves no training examples (${source} has ${unique.length})`,
    );
  }
  const perStep = (cfg.per_device_train_batch_size / cfg.num_generations) * cfg.gradient_accumulation_steps;
  if (unique.length - cfg.eval_size < perStep) {
    throw new UserError(
      `${source} has ${
        unique.length - cfg.eval_size
      } training examples after eval_size = ${cfg.eval_size}; one step needs ${perStep} distinct prompts (per_device_train_batch_size / num_generations × gradient_accumulation_steps)`,
    );
  }
  return splitHeldOut(unique, { seed: cfg.seed, heldOut: cfg.eval_size });
}
