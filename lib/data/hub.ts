/**
 * Shared loader plumbing: reading a local source file, the one-line skipped-rows warning, the
 * dataset cache folder, and downloading a Hugging Face dataset split through the datasets-server
 * rows API into a cached JSONL file (written atomically, so a kill never leaves half a cache).
 * @module
 */
import { basename } from "node:path";
import { UserError } from "../util/errors.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { hubCacheRoot } from "../util/cache_dir.ts";
import type { SkippedRow } from "./types.ts";
import { notice } from "../util/notices.ts";

/** The default datasets-server endpoint. */
export const DATASETS_SERVER = "https://datasets-server.huggingface.co";

/** The dataset cache folder: `$HF_HOME/grpo-ts/datasets`, else `~/.cache/grpo-ts/datasets`. */
export function defaultCacheDir(): string {
  return hubCacheRoot("datasets");
}

/** Reads a local text file; a missing or unreadable file → UserError naming it. */
export async function readSourceText(path: string, label: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UserError(`${label}: file not found: ${path}`);
    throw new UserError(`${label}: cannot read ${path}: ${(e as Error).message}`);
  }
}

/** True when `path` is an existing directory. */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Prints one warning line when rows were skipped, e.g.
 * `warning: gsm8k train.jsonl: skipped 3 of 7473 rows (line 5: answer has no "####"; …)`.
 * Returns the line (or null when nothing was skipped).
 */
export function warnSkipped(
  label: string,
  path: string,
  skipped: readonly SkippedRow[],
  options: { total: number; warn?: (line: string) => void },
): string | null {
  if (!skipped.length) return null;
  const shown = skipped.slice(0, 3).map((s) => `line ${s.line}: ${s.reason}`).join("; ");
  const more = skipped.length > 3 ? `; … ${skipped.length - 3} more` : "";
  const line = `warning: ${label} ${
    basename(path)
  }: skipped ${skipped.length} of ${options.total} rows (${shown}${more})`;
  (options.warn ?? ((l: string) => void notice(l)))(line);
  return line;
}

/** Options of {@linkcode downloadHubRows}. */
export interface DownloadHubOptions {
  /** Dataset config, e.g. `"main"` for GSM8K or `"default"`. */
  config: string;
  /** Split name, e.g. `"train"`. */
  split: string;
  /** Where the JSONL cache goes (one `row` object per line). */
  cacheFile: string;
  /** Server base URL (default {@linkcode DATASETS_SERVER}; tests point it at a loopback server). */
  endpoint?: string;
  /** Rows per request (the server allows at most 100). */
  pageSize?: number;
  /** Progress lines go here (default console.error). */
  log?: (line: string) => void;
}

async function getJson(url: string): Promise<unknown> {
  let last = "";
  for (let attempt = 0; attempt < 4; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      last = (e as Error).message;
      continue;
    }
    if (res.ok) return await res.json();
    last = `HTTP ${res.status}`;
    await res.body?.cancel();
    if (res.status !== 429 && res.status < 500) break;
  }
  throw new UserError(`download failed: ${url}: ${last}`);
}

/**
 * Downloads every row of `dataset` (e.g. `"openai/gsm8k"`) split `options.split` into
 * `options.cacheFile` as JSONL, unless that file already exists. Returns the cache path.
 */
export async function downloadHubRows(dataset: string, options: DownloadHubOptions): Promise<string> {
  try {
    await Deno.stat(options.cacheFile);
    return options.cacheFile;
  } catch { /* not cached yet */ }
  const base = options.endpoint ?? DATASETS_SERVER;
  const size = options.pageSize ?? 100;
  const log = options.log ?? console.error;
  const lines: string[] = [];
  let total = Infinity;
  for (let offset = 0; offset < total; offset += size) {
    const url =
      `${base}/rows?dataset=${encodeURIComponent(dataset)}&config=${encodeURIComponent(options.config)}` +
      `&split=${encodeURIComponent(options.split)}&offset=${offset}&length=${size}`;
    const page = await getJson(url) as { rows?: { row?: unknown }[]; num_rows_total?: number };
    if (!Array.isArray(page?.rows) || typeof page.num_rows_total !== "number") {
      throw new UserError(
        `download ${dataset}: unexpected answer from ${url} (no "rows" / "num_rows_total")`,
      );
    }
    total = page.num_rows_total;
    if (page.rows.length === 0 && offset < total) {
      throw new UserError(`download ${dataset}: empty page at offset ${offset} of ${total} from ${url}`);
    }
    for (const r of page.rows) lines.push(JSON.stringify(r.row ?? null));
    if ((offset / size) % 20 === 0) {
      log(`[download ${dataset}] ${Math.min(offset + size, total)}/${total} rows`);
    }
  }
  await writeFileAtomic(options.cacheFile, lines.join("\n") + "\n");
  log(`[download ${dataset}] ${lines.length} rows cached in ${options.cacheFile}`);
  return options.cacheFile;
}
