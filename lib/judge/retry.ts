/**
 * Small building blocks of the judge's request policy: a counting semaphore (bounded concurrency),
 * exponential backoff with full jitter, abortable sleeps, error classification and secret scrubbing.
 * @module
 */
// @ts-types="./genai_types.d.ts"
import { ApiError } from "@google/genai";
import type { Rng } from "../util/mod.ts";

/** A counting semaphore: at most `limit` holders at once, waiters served first come first served. */
export class Semaphore {
  #free: number;
  #waiters: (() => void)[] = [];

  /** @param limit how many holders may run at once (≥ 1) */
  constructor(limit: number) {
    this.#free = limit;
  }

  /** Waits for a slot; call the returned function exactly once to give it back. */
  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next();
      else this.#free++;
    };
  }
}

/**
 * Full-jitter exponential backoff: a uniform draw in `[0, min(maxMs, baseMs · 2^attempt))`,
 * raised to `hintMs` (a server-sent retry delay) when given, and never above `maxMs`.
 * `attempt` is 0 for the wait before the first retry.
 */
export function backoffDelay(
  attempt: number,
  rng: Rng,
  options: { baseMs: number; maxMs: number; hintMs?: number },
): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** attempt);
  const jittered = rng.float() * ceiling;
  return Math.min(options.maxMs, Math.max(jittered, options.hintMs ?? 0));
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts (the timer is cleared). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** How the judge reacts to a failed attempt. */
export type FailureKind =
  /** 429, 408, 5xx, timeouts, network errors, unparseable answers: try again after a backoff. */
  | "retry"
  /** The server refused the key (401, 403, or 400 "API key not valid"): no request can succeed. */
  | "auth"
  /** Any other 4xx, or a blocked prompt: the same request would fail again; fall back at once. */
  | "permanent";

/** An attempt that failed for a reason the judge understands (timeouts, bad answers). */
export class JudgeAttemptError extends Error {
  /** @param kind how to react; @param message one line */
  constructor(readonly kind: FailureKind, message: string) {
    super(message);
    this.name = "JudgeAttemptError";
  }
}

/** Sorts an error thrown by one `generateContent` attempt into a {@linkcode FailureKind}. */
export function classifyFailure(err: unknown): FailureKind {
  if (err instanceof JudgeAttemptError) return err.kind;
  if (err instanceof ApiError) {
    const s = err.status;
    if (s === 401 || s === 403) return "auth";
    if (s === 400 && /API_KEY_INVALID|API key not valid|API key expired/i.test(err.message)) return "auth";
    if (s === 429 || s === 408 || s >= 500) return "retry";
    return "permanent";
  }
  // Anything else thrown by the SDK is a transport failure ("exception ... sending request").
  return "retry";
}

/** The server's suggested wait in ms, read from a Gemini 429 body (`"retryDelay": "37s"`), if any. */
export function retryDelayHintMs(err: unknown): number | undefined {
  if (!(err instanceof ApiError)) return undefined;
  const m = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(err.message);
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

/** The `error.status` word of a Google API error body (e.g. `PERMISSION_DENIED`), if present. */
export function apiStatusWord(err: ApiError): string | undefined {
  const m = /"status"\s*:\s*"([A-Z_]+)"/.exec(err.message);
  return m?.[1];
}

/**
 * A one-line, length-capped description of an attempt error with every occurrence of `secret`
 * (and anything shaped like a Google API key) replaced by `[REDACTED]`.
 */
export function describeError(
  err: unknown,
  options: { secret?: string; maxLen?: number } = {},
): string {
  const { secret, maxLen = 300 } = options;
  let text: string;
  if (err instanceof ApiError) text = `HTTP ${err.status}: ${err.message}`;
  else if (err instanceof Error) text = err.message;
  else text = String(err);
  text = scrubSecret(text.replace(/\s+/g, " ").trim(), secret);
  return text.length > maxLen ? text.slice(0, maxLen - 1) + "…" : text;
}

/** Replaces `secret` and Google-API-key-shaped tokens (`AIza…`) in `text` by `[REDACTED]`. */
export function scrubSecret(text: string, secret: string | undefined): string {
  let out = text;
  if (secret) out = out.split(secret).join("[REDACTED]");
  return out.replace(/AIza[0-9A-Za-z_-]{20,}/g, "[REDACTED]");
}
