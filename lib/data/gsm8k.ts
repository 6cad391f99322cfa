/**
 * GSM8K loader: a local JSONL file (rows `{question, answer}`, answer ending in `#### N`), a folder
 * holding `<split>.jsonl`, or `"openai/gsm8k"` (downloaded once through the Hugging Face
 * datasets-server rows API into the cache folder). Bad rows are skipped, counted and reported.
 * @module
 */
import { join } from "node:path";
import { UserError } from "../util/mod.ts";
import type { LoadResult, MathExample, SkippedRow } from "./types.ts";
import { defaultCacheDir, downloadHubRows, isDirectory, readSourceText, warnSkipped } from "./hub.ts";

/** The hub name that triggers a download. */
export const GSM8K_HUB = "openai/gsm8k";

/** Options of {@linkcode loadGsm8k}. */
export interface LoadGsm8kOptions {
  /** Which split (default `"train"`); used for the hub and for a folder source. */
  split?: "train" | "test";
  /** Keep at most this many valid rows (reading stops there). */
  limit?: number;
  /** Cache folder for hub downloads (default {@linkcode defaultCacheDir}). */
  cacheDir?: string;
  /** datasets-server base URL (tests use a loopback server). */
  endpoint?: string;
  /** Where the skipped-rows warning goes (default console.warn). */
  warn?: (line: string) => void;
}

/**
 * Canonical form of a gold number: commas and a leading `+` removed, `"18.50"` → `"18.5"`,
 * `"-0"` → `"0"`. Returns null when `s` is not a plain number.
 */
export function canonicalNumber(s: string): string | null {
  const t = s.trim().replace(/,/g, "").replace(/^\+/, "");
  if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(t)) return null;
  if (/^-?\d+$/.test(t)) {
    const u = t.replace(/^(-?)0+(?=\d)/, "$1");
    return u === "-0" ? "0" : u;
  }
  const n = Number(t);
  return Number.isFinite(n) ? String(n === 0 ? 0 : n) : null;
}

/** Parses one GSM8K row; returns the example or the reason it is unusable. */
export function parseGsm8kRow(row: unknown): MathExample | string {
  if (typeof row !== "object" || row === null || Array.isArray(row)) return "row is not a JSON object";
  const r = row as Record<string, unknown>;
  if (typeof r.question !== "string" || !r.question.trim()) return `missing field "question"`;
  if (typeof r.answer !== "string") return `missing field "answer"`;
  const at = r.answer.lastIndexOf("####");
  if (at < 0) return `answer has no "####"`;
  const gold = r.answer.slice(at + 4).trim();
  const answer = canonicalNumber(gold);
  if (answer === null) return `gold answer ${JSON.stringify(gold.slice(0, 40))} is not a number`;
  return { question: r.question.trim(), answer, solution: r.answer.slice(0, at).trim() };
}

/** Parses GSM8K JSONL text; `total` counts the non-blank lines read. Blank lines are ignored. */
export function parseGsm8kJsonl(text: string, options: { limit?: number } = {}): LoadResult<MathExample> & {
  total: number;
} {
  const rows: MathExample[] = [];
  const skipped: SkippedRow[] = [];
  const lines = text.split("\n");
  let total = 0;
  const limit = options.limit ?? Infinity;
  for (let i = 0; i < lines.length && rows.length < limit; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    total++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      skipped.push({ line: i + 1, reason: "not valid JSON" });
      continue;
    }
    const ex = parseGsm8kRow(parsed);
    if (typeof ex === "string") skipped.push({ line: i + 1, reason: ex });
    else rows.push(ex);
  }
  return { rows, skipped, total };
}

/**
 * Loads GSM8K from a local `.jsonl` file, a folder with `<split>.jsonl`, or `"openai/gsm8k"`
 * (download + cache). Gold answers come from `#### N` (commas stripped), `solution` is the text
 * before `####`. Skipped rows are returned and printed as one warning line; a missing file or one
 * without a single valid row → UserError naming the file.
 */
export async function loadGsm8k(
  source: string,
  options: LoadGsm8kOptions = {},
): Promise<LoadResult<MathExample>> {
  const split = options.split ?? "train";
  if (split !== "train" && split !== "test") {
    throw new UserError(`gsm8k: split must be "train" or "test", got "${split}"`);
  }
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit > 0)) {
    throw new UserError(`gsm8k: limit must be a positive integer, got ${options.limit}`);
  }
  let path = source;
  if (source === GSM8K_HUB) {
    path = await downloadHubRows(GSM8K_HUB, {
      config: "main",
      split,
      cacheFile: join(options.cacheDir ?? defaultCacheDir(), "openai__gsm8k", `${split}.jsonl`),
      endpoint: options.endpoint,
    });
  } else if (await isDirectory(source)) {
    path = join(source, `${split}.jsonl`);
  }
  const text = await readSourceText(path, "gsm8k");
  const { rows, skipped, total } = parseGsm8kJsonl(text, { limit: options.limit });
  if (rows.length === 0) {
    const why = skipped.length
      ? ` (${skipped.length} bad rows; line ${skipped[0].line}: ${skipped[0].reason})`
      : "";
    throw new UserError(`gsm8k: no valid rows in ${path}${why}`);
  }
  warnSkipped(skipped, { label: "gsm8k", path: path, total, warn: options.warn });
  return { rows, skipped };
}
