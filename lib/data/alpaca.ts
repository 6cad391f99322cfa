/**
 * Alpaca loader: a local `.json` array of `{instruction, input, output}`, a `.jsonl` file with
 * those rows or with self-instruct seed-task rows (`{instruction, instances: [{input, output}]}`,
 * one example per instance), or `"tatsu-lab/alpaca"` (downloaded once into the cache folder).
 * Bad rows are skipped, counted and reported.
 * @module
 */
import { join } from "node:path";
import { UserError } from "../util/mod.ts";
import type { DialogueExample, LoadResult, SkippedRow } from "./types.ts";
import { defaultCacheDir, downloadHubRows, readSourceText, warnSkipped } from "./hub.ts";

/** The hub name that triggers a download. */
export const ALPACA_HUB = "tatsu-lab/alpaca";

/** Options of {@linkcode loadAlpaca}. */
export interface LoadAlpacaOptions {
  /** Keep at most this many valid examples. */
  limit?: number;
  /** Cache folder for hub downloads (default {@linkcode defaultCacheDir}). */
  cacheDir?: string;
  /** datasets-server base URL (tests use a loopback server). */
  endpoint?: string;
  /** Where the skipped-rows warning goes (default console.warn). */
  warn?: (line: string) => void;
}

function pair(x: Record<string, unknown>, where: string): { input: string; output: string } | string {
  if (x.input !== undefined && x.input !== null && typeof x.input !== "string") {
    return `${where}"input" is not a string`;
  }
  if (typeof x.output !== "string" || !x.output.trim()) return `missing field "${where}output"`;
  return { input: ((x.input as string | undefined) ?? "").trim(), output: x.output.trim() };
}

/**
 * Parses one Alpaca row (flat or seed-task shape) into examples, or the reason it is unusable.
 * A seed-task row gives one example per instance.
 */
export function parseAlpacaRow(row: unknown): DialogueExample[] | string {
  if (typeof row !== "object" || row === null || Array.isArray(row)) return "row is not a JSON object";
  const r = row as Record<string, unknown>;
  if (typeof r.instruction !== "string" || !r.instruction.trim()) return `missing field "instruction"`;
  const instruction = r.instruction.trim();
  if (r.instances !== undefined) {
    if (!Array.isArray(r.instances) || r.instances.length === 0) {
      return `"instances" is not a non-empty array`;
    }
    const out: DialogueExample[] = [];
    for (let i = 0; i < r.instances.length; i++) {
      const inst = r.instances[i];
      if (typeof inst !== "object" || inst === null) return `instances[${i}] is not an object`;
      const p = pair(inst as Record<string, unknown>, `instances[${i}].`);
      if (typeof p === "string") return p;
      out.push({ instruction, ...p });
    }
    return out;
  }
  const p = pair(r, "");
  return typeof p === "string" ? p : [{ instruction, ...p }];
}

function collect(
  items: { line: number; value: unknown; error?: string }[],
  limit: number,
): LoadResult<DialogueExample> & { total: number } {
  const rows: DialogueExample[] = [];
  const skipped: SkippedRow[] = [];
  let total = 0;
  for (const it of items) {
    if (rows.length >= limit) break;
    total++;
    const ex = it.error ?? parseAlpacaRow(it.value);
    if (typeof ex === "string") skipped.push({ line: it.line, reason: ex });
    else rows.push(...ex.slice(0, limit - rows.length));
  }
  return { rows, skipped, total };
}

/**
 * Parses Alpaca text: a JSON array (skipped rows then carry their 1-based item number) or JSONL
 * (1-based line numbers; blank lines ignored). A file that is neither → UserError naming `path`.
 */
export function parseAlpacaText(
  text: string,
  path: string,
  options: { limit?: number } = {},
): LoadResult<DialogueExample> & { total: number } {
  const limit = options.limit ?? Infinity;
  if (text.trimStart().startsWith("[")) {
    let arr: unknown;
    try {
      arr = JSON.parse(text);
    } catch (e) {
      throw new UserError(`alpaca: ${path} is not valid JSON: ${(e as Error).message}`);
    }
    return collect((arr as unknown[]).map((value, i) => ({ line: i + 1, value })), limit);
  }
  if (path.endsWith(".json") && text.trim()) {
    throw new UserError(`alpaca: ${path} must hold a JSON array of {instruction, input, output} rows`);
  }
  const items: { line: number; value: unknown; error?: string }[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    try {
      items.push({ line: i + 1, value: JSON.parse(line) });
    } catch {
      items.push({ line: i + 1, value: null, error: "not valid JSON" });
    }
  });
  return collect(items, limit);
}

/**
 * Loads Alpaca-style instruction data from a local `.json` / `.jsonl` file or `"tatsu-lab/alpaca"`
 * (download + cache). Skipped rows are returned and printed as one warning line; a missing file or
 * one without a single valid row → UserError naming the file.
 */
export async function loadAlpaca(
  source: string,
  options: LoadAlpacaOptions = {},
): Promise<LoadResult<DialogueExample>> {
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit > 0)) {
    throw new UserError(`alpaca: limit must be a positive integer, got ${options.limit}`);
  }
  let path = source;
  if (source === ALPACA_HUB) {
    path = await downloadHubRows(ALPACA_HUB, {
      config: "default",
      split: "train",
      cacheFile: join(options.cacheDir ?? defaultCacheDir(), "tatsu-lab__alpaca", "train.jsonl"),
      endpoint: options.endpoint,
    });
  }
  const text = await readSourceText(path, "alpaca");
  const { rows, skipped, total } = parseAlpacaText(text, path, { limit: options.limit });
  if (rows.length === 0) {
    const why = skipped.length
      ? ` (${skipped.length} bad rows; line ${skipped[0].line}: ${skipped[0].reason})`
      : "";
    throw new UserError(`alpaca: no valid rows in ${path}${why}`);
  }
  warnSkipped(skipped, { label: "alpaca", path: path, total, warn: options.warn });
  return { rows, skipped };
}
