/**
 * The judge's score cache: an in-memory map from a SHA-256 key of (model, rubric, prompt, response,
 * reference) to the judge's score, optionally persisted to a JSON file
 * (`{"version": 1, "entries": {"<hex key>": score}}`) written atomically. Only real judge answers are
 * cached, never fallback scores.
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { UserError, writeJsonAtomic } from "../util/mod.ts";
import type { JudgeItem } from "./prompt.ts";

/** Options of {@linkcode JudgeCache}. */
export interface JudgeCacheOptions {
  /** JSON file to load at construction (when it exists) and to write on {@linkcode JudgeCache.flush}. Default: memory only. */
  path?: string;
}

/** An in-memory score cache with optional atomic JSON persistence. */
export class JudgeCache {
  /** The backing file, if any. */
  readonly path?: string;
  #map = new Map<string, number>();
  #dirty = false;
  #writing: Promise<void> = Promise.resolve();

  /** Loads `options.path` when it exists; a malformed file is a {@linkcode UserError} naming it. */
  constructor(options: JudgeCacheOptions = {}) {
    this.path = options.path;
    if (this.path && existsSync(this.path)) this.#load(this.path);
  }

  #load(path: string): void {
    let data: unknown;
    try {
      data = JSON.parse(Deno.readTextFileSync(path));
    } catch (e) {
      throw new UserError(`judge cache ${path}: not readable JSON (${(e as Error).message})`);
    }
    const entries = (data as { entries?: unknown })?.entries;
    if ((data as { version?: unknown })?.version !== 1 || typeof entries !== "object" || entries === null) {
      throw new UserError(`judge cache ${path}: expected {"version": 1, "entries": {...}}`);
    }
    for (const [key, score] of Object.entries(entries)) {
      if (typeof score !== "number" || !(score >= 0 && score <= 10)) {
        throw new UserError(
          `judge cache ${path}: entry "${key}" has score ${JSON.stringify(score)}, not 0..10`,
        );
      }
      this.#map.set(key, score);
    }
  }

  /** Number of cached scores. */
  get size(): number {
    return this.#map.size;
  }

  /** The cached score for `key`, if any. */
  get(key: string): number | undefined {
    return this.#map.get(key);
  }

  /** Stores a judge score. */
  set(key: string, score: number): void {
    this.#map.set(key, score);
    this.#dirty = true;
  }

  /** Writes the file atomically when there is a path and something changed since the last flush. */
  flush(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      if (!this.path || !this.#dirty) return;
      this.#dirty = false;
      await writeJsonAtomic(this.path, { version: 1, entries: Object.fromEntries(this.#map) });
    });
    return this.#writing;
  }
}

/** The cache key of one item: hex SHA-256 of the JSON array [model, rubric, prompt, response, reference]. */
export function judgeCacheKey(item: JudgeItem, options: { model: string; rubric: string }): string {
  const text = JSON.stringify([
    options.model,
    options.rubric,
    item.prompt,
    item.response,
    item.reference ?? null,
  ]);
  return createHash("sha256").update(text).digest("hex");
}
