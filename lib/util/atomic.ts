/**
 * Crash-safe file writes: whole files go to a temp file in the same folder and are renamed into
 * place, so a kill leaves the old file or the new one, never half of one. Logs are appended one
 * complete line per call, so a kill leaves a valid prefix. A write that fails (disk full, no permission)
 * throws one line naming the file and, when given, what it is; a half-written temp file is removed.
 * @module
 */
import { dirname, join } from "node:path";
import { writeError } from "./errors.ts";

/** Options of the writers. */
export interface WriteOptions {
  /** What the file is, for the error line (e.g. "run config"); default: the path alone. */
  what?: string;
}

function tempName(path: string): string {
  const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return join(dirname(path), `.${path.split("/").pop()}.${Deno.pid}.${rand}.tmp`);
}

/** Writes `data` to `path` atomically (temp file, fsync, rename). Creates the parent folder. */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: WriteOptions = {},
): Promise<void> {
  const tmp = tempName(path);
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      let off = 0;
      while (off < bytes.length) off += await f.write(bytes.subarray(off));
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw writeError(path, e, options);
  }
}

/** Writes `value` as pretty JSON atomically. */
export function writeJsonAtomic(path: string, value: unknown, options: WriteOptions = {}): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n", options);
}

/**
 * Appends one JSON object as one line (a single write call, so a kill leaves whole lines; a full disk
 * may leave a torn last line, which {@linkcode readJsonLines} drops and counts).
 */
export async function appendJsonLine(
  path: string,
  value: unknown,
  options: WriteOptions = {},
): Promise<void> {
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeTextFile(path, JSON.stringify(value) + "\n", { append: true, create: true });
  } catch (e) {
    throw writeError(path, e, options);
  }
}

/**
 * Reads a JSONL file written by {@linkcode appendJsonLine}. A torn last line (a kill mid-write)
 * is dropped and counted in `torn`; a bad line elsewhere throws naming file and line.
 */
export async function readJsonLines<T = unknown>(path: string): Promise<{ rows: T[]; torn: number }> {
  const text = await Deno.readTextFile(path);
  const lines = text.split("\n");
  const rows: T[] = [];
  let torn = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    try {
      rows.push(JSON.parse(line));
    } catch {
      if (i === lines.length - 1) torn++;
      else throw new Error(`${path}:${i + 1}: not valid JSON`);
    }
  }
  return { rows, torn };
}

/** Whether `path` exists (other stat errors, such as permission denied, are thrown). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
