/**
 * One-time notices and warnings: the first occurrence of a line is printed, identical repeats are
 * counted instead of printed, and {@linkcode flushRepeatedNotices} (called at process exit) prints one
 * `(repeated N more times)` line per collapsed notice. Inside a Jupyter kernel notices go to stdout, so
 * a notice (e.g. the CUDA fallback) is one plain line rather than a red stderr block.
 * @module
 */

const seen = new Map<string, number>();
let hooked = false;

function inJupyter(): boolean {
  try {
    return typeof (Deno as unknown as { jupyter?: { broadcast?: unknown } }).jupyter?.broadcast ===
      "function";
  } catch {
    return false;
  }
}

function defaultWrite(line: string): void {
  if (inJupyter()) console.log(line);
  else console.error(line);
}

/** Options of {@linkcode notice}. */
export interface NoticeOptions {
  /** Where the line goes (default: stderr, or stdout inside Jupyter). */
  write?: (line: string) => void;
}

/**
 * Prints `line` the first time it is seen in this process; identical repeats are only counted.
 * Returns whether it was printed.
 */
export function notice(line: string, opts: NoticeOptions = {}): boolean {
  const n = seen.get(line) ?? 0;
  seen.set(line, n + 1);
  if (!hooked && typeof globalThis.addEventListener === "function") {
    hooked = true;
    globalThis.addEventListener("unload", () => flushRepeatedNotices());
  }
  if (n > 0) return false;
  (opts.write ?? defaultWrite)(line);
  return true;
}

/** A writer that collapses identical repeated lines through {@linkcode notice} before passing them on. */
export function collapsing(write: (line: string) => void): (line: string) => void {
  return (line) => void notice(line, { write });
}

/** Collapsed notices so far: each line with how many times it was repeated after its first print. */
export function repeatedNotices(): { line: string; repeats: number }[] {
  return [...seen].filter(([, n]) => n > 1).map(([line, n]) => ({ line, repeats: n - 1 }));
}

/** Prints one `(repeated N more times: …)` line per collapsed notice and forgets the counts of repeats. */
export function flushRepeatedNotices(write: (line: string) => void = defaultWrite): void {
  for (const { line, repeats } of repeatedNotices()) {
    write(`(repeated ${repeats} more time${repeats > 1 ? "s" : ""}: ${line})`);
    seen.set(line, 1);
  }
}
