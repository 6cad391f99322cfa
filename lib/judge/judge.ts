/**
 * The Gemini LLM judge behind the dialogue rewards: scores (prompt, response[, reference]) items
 * 0–10 through `@google/genai` with bounded concurrency, per-attempt timeouts, retries with
 * exponential backoff and full jitter, a score cache, and counted, visible fallbacks.
 * @module
 */
// @ts-types="./genai_types.d.ts"
import { ApiError, type GenerateContentResponse, GoogleGenAI } from "@google/genai";
import { Rng, UserError } from "../util/mod.ts";
import { JudgeCache, judgeCacheKey } from "./cache.ts";
import { type FallbackScorer, overlapFallback } from "./fallback.ts";
import {
  buildJudgePrompt,
  DEFAULT_RUBRIC,
  JUDGE_RESPONSE_SCHEMA,
  type JudgeItem,
  parseJudgeAnswer,
} from "./prompt.ts";
import {
  apiStatusWord,
  backoffDelay,
  classifyFailure,
  describeError,
  type FailureKind,
  JudgeAttemptError,
  retryDelayHintMs,
  Semaphore,
  sleep,
} from "./retry.ts";
import { notice } from "../util/notices.ts";

/** The score of one item. */
export interface JudgeResult {
  /** Score in [0, 10]. */
  score: number;
  /** `judge`: Gemini answered now; `cache`: a stored Gemini answer; `fallback`: the local fallback scored it. */
  source: "judge" | "cache" | "fallback";
  /** Why the judge could not answer (only with `source: "fallback"`); never contains the API key. */
  error?: string;
}

/**
 * Counters since the last {@linkcode Judge.resetStats}. Every item of a `score()` call that returns
 * lands in exactly one of `ok`, `fallbacks`, `cacheHits`, so `calls = ok + fallbacks + cacheHits`
 * (items of a call that throws are not counted in `calls`).
 */
export interface JudgeStats {
  /** Items scored (one per item, not per HTTP request). */
  calls: number;
  /** Items scored by a Gemini answer received in this window. */
  ok: number;
  /** Failed HTTP attempts (429, 5xx, timeouts, network errors, unparseable answers, refusals), retried or not. */
  errors: number;
  /** Items scored by the fallback scorer (judge gave up, key missing or rejected). */
  fallbacks: number;
  /** Items served from the cache (including duplicates of an item already in flight). */
  cacheHits: number;
  /** Attempts repeated after a retryable failure. */
  retries: number;
  /** Mean wall-clock ms per item that was not a cache hit (from getting a concurrency slot to its result). */
  latencyMs: number;
}

/** A batch scorer with counters. */
export interface Judge {
  /** Scores items in order; throws a `UserError` only when no fallback is configured and one item fails. */
  score(items: JudgeItem[]): Promise<JudgeResult[]>;
  /** Counters since the last reset. */
  stats(): JudgeStats;
  /** Zeroes the counters (the trainer calls it once per step). */
  resetStats(): void;
}

/** Options of {@linkcode createGeminiJudge}. */
export interface GeminiJudgeOptions {
  /** Gemini API key. Default `Deno.env.get("GEMINI_API_KEY")`; `""` means "not set". */
  apiKey?: string;
  /** Model name. Default `"gemini-2.5-flash"`. */
  model?: string;
  /** API base URL (tests point it at the loopback fake). Default `$GEMINI_BASE_URL`, else the SDK's (`https://generativelanguage.googleapis.com`). */
  baseUrl?: string;
  /** Most requests in flight at once, across all concurrent `score()` calls. Default 4. */
  concurrency?: number;
  /** Per-attempt timeout in ms. Default 30000. */
  timeoutMs?: number;
  /** Retries after the first attempt (so up to `maxRetries + 1` attempts). Default 4. */
  maxRetries?: number;
  /** Backoff base: the wait before retry k is uniform in [0, min(backoffMaxMs, base·2^k)). Default 500. */
  backoffBaseMs?: number;
  /** Backoff cap (also caps a server-sent `retryDelay`). Default 20000. */
  backoffMaxMs?: number;
  /** Grading instructions (the injection guard and output format are always appended). Default {@linkcode DEFAULT_RUBRIC}. */
  rubric?: string;
  /** Scorer when the judge cannot answer: `"none"` throws instead. Default `$GEMINI_JUDGE_FALLBACK` (`none` or `overlap`), else `"overlap"`. */
  fallback?: "none" | "overlap" | FallbackScorer;
  /** Score cache; `false` disables it (and in-flight de-duplication). Default: a new in-memory {@linkcode JudgeCache}. */
  cache?: JudgeCache | false;
  /** Shortcut for `cache: new JudgeCache({ path })`: persist the cache to this JSON file. Default: none. */
  cachePath?: string;
  /** Source of backoff jitter. Default `new Rng(0x5eed)`. */
  rng?: Rng;
  /** Sampling temperature of the judge. Default 0. */
  temperature?: number;
  /** Thinking-token budget of 2.5-series models (0 = no thinking on Flash, -1 = dynamic). Default: the model's own. */
  thinkingBudget?: number;
  /** Where notices go (one line each, never containing the key). Default `console.warn`. */
  log?: (line: string) => void;
}

type Attempted =
  | { ok: true; score: number }
  | { ok: false; kind: FailureKind | "offline"; error: string };

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: treated as not set
  }
}

/** The fallback named by `$GEMINI_JUDGE_FALLBACK` (`none` / `overlap`), if set. */
function envFallback(): "none" | "overlap" | undefined {
  const v = env("GEMINI_JUDGE_FALLBACK");
  if (v === undefined || v === "none" || v === "overlap") return v;
  throw new UserError(`GEMINI_JUDGE_FALLBACK = ${JSON.stringify(v)}: expected "none" or "overlap"`);
}

function checkOptions(o: GeminiJudgeOptions): void {
  const mins = { concurrency: 1, timeoutMs: 1, maxRetries: 0, backoffBaseMs: 0, backoffMaxMs: 0 } as const;
  for (const [name, min] of Object.entries(mins)) {
    const v = o[name as keyof typeof mins];
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) {
      throw new UserError(`judge option ${name} = ${JSON.stringify(v)}: expected an integer ≥ ${min}`);
    }
  }
  if (o.cache !== undefined && o.cachePath !== undefined) {
    throw new UserError("judge options cache and cachePath: give one, not both");
  }
  const fb = o.fallback;
  if (fb !== undefined && fb !== "none" && fb !== "overlap" && typeof fb?.score !== "function") {
    throw new UserError(
      `judge option fallback = ${JSON.stringify(fb)}: expected "none", "overlap" or a FallbackScorer`,
    );
  }
}

/** Text parts of the first candidate (thoughts skipped); a blocked prompt is a permanent failure. */
function answerText(res: GenerateContentResponse): string | undefined {
  const cand = res.candidates?.[0];
  if (!cand) {
    const reason = res.promptFeedback?.blockReason;
    if (reason) throw new JudgeAttemptError("permanent", `judge refused the prompt (blockReason ${reason})`);
    throw new JudgeAttemptError("retry", "judge answer had no candidates");
  }
  const texts = (cand.content?.parts ?? []).filter((p) => typeof p.text === "string" && !p.thought);
  return texts.length ? texts.map((p) => p.text).join("") : undefined;
}

/**
 * Creates the Gemini judge. Without an API key it runs in fallback mode (one notice line), or throws
 * a `UserError` when `fallback` is `"none"`. A key the server rejects (401/403, or 400 "API key not
 * valid") switches the whole judge to the fallback with one notice, or throws a `UserError` when
 * `fallback` is `"none"`. The key never appears in errors, notices or stats.
 */
export function createGeminiJudge(options: GeminiJudgeOptions = {}): Judge {
  checkOptions(options);
  const key = (options.apiKey ?? env("GEMINI_API_KEY")) || undefined;
  const baseUrl = options.baseUrl ?? env("GEMINI_BASE_URL");
  const model = options.model ?? "gemini-2.5-flash";
  const rubric = options.rubric ?? DEFAULT_RUBRIC;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxRetries = options.maxRetries ?? 4;
  const backoff = { baseMs: options.backoffBaseMs ?? 500, maxMs: options.backoffMaxMs ?? 20_000 };
  const rng = options.rng ?? new Rng(0x5eed);
  const log = options.log ?? ((line: string) => void notice(line));
  const fbOpt = options.fallback ?? envFallback() ?? "overlap";
  const fallback: FallbackScorer | null = fbOpt === "none"
    ? null
    : fbOpt === "overlap"
    ? overlapFallback
    : fbOpt;
  const cache = options.cache === false
    ? null
    : options.cache ?? new JudgeCache(options.cachePath ? { path: options.cachePath } : {});
  const sem = new Semaphore(options.concurrency ?? 4);
  const inflight = new Map<string, Promise<JudgeResult>>();

  /** Set when the API cannot be used at all (no key / rejected key): the fallback's reason. */
  let offline: string | undefined;
  if (!key) {
    if (!fallback) {
      throw new UserError(
        'judge: GEMINI_API_KEY is not set and fallback is "none"; set the key, or use a fallback (GEMINI_JUDGE_FALLBACK=overlap)',
      );
    }
    offline = "GEMINI_API_KEY is not set";
    log(`judge: GEMINI_API_KEY is not set; scoring with the ${fallback.name} fallback`);
  }
  const ai = key ? new GoogleGenAI({ apiKey: key, httpOptions: baseUrl ? { baseUrl } : {} }) : null;

  let st = { calls: 0, ok: 0, errors: 0, fallbacks: 0, cacheHits: 0, retries: 0 };
  let latencySum = 0, latencyN = 0;
  /** Counts one finished item in `calls` and in its bucket; judged/fallback items also in the latency mean. */
  const count = (bucket: "ok" | "fallbacks" | "cacheHits", t0?: number) => {
    st.calls++;
    st[bucket]++;
    if (t0 !== undefined) {
      latencySum += performance.now() - t0;
      latencyN++;
    }
  };

  async function attemptOnce(item: JudgeItem, signal: AbortSignal): Promise<number> {
    const { system, user } = buildJudgePrompt(item, rubric);
    const ctrl = new AbortController();
    const timer = setTimeout(
      () => ctrl.abort(new JudgeAttemptError("retry", `judge request timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onAbort = () => ctrl.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const res = await ai!.models.generateContent({
        model,
        contents: [{ role: "user", parts: [{ text: user }] }],
        config: {
          systemInstruction: system,
          responseMimeType: "application/json",
          responseSchema: JUDGE_RESPONSE_SCHEMA,
          temperature: options.temperature ?? 0,
          ...(options.thinkingBudget === undefined
            ? {}
            : { thinkingConfig: { thinkingBudget: options.thinkingBudget } }),
          abortSignal: ctrl.signal,
        },
      });
      return parseJudgeAnswer(answerText(res));
    } catch (e) {
      if (ctrl.signal.aborted) throw ctrl.signal.reason;
      throw e;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  async function attemptWithRetries(item: JudgeItem, signal: AbortSignal): Promise<Attempted> {
    for (let attempt = 0;; attempt++) {
      if (offline) return { ok: false, kind: "offline", error: offline };
      try {
        return { ok: true, score: await attemptOnce(item, signal) };
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        st.errors++;
        const kind = classifyFailure(e);
        if (kind === "auth") {
          const status = e instanceof ApiError ? e.status : 0;
          const word = e instanceof ApiError ? apiStatusWord(e) : undefined;
          return {
            ok: false,
            kind,
            error: `Gemini rejected the API key (${status}${word ? " " + word : ""})`,
          };
        }
        const msg = describeError(e, key);
        if (kind === "permanent" || attempt >= maxRetries) {
          return {
            ok: false,
            kind,
            error: attempt > 0 ? `${msg} (gave up after ${attempt + 1} attempts)` : msg,
          };
        }
        st.retries++;
        await sleep(backoffDelay(attempt, rng, { ...backoff, hintMs: retryDelayHintMs(e) }), signal);
      }
    }
  }

  async function judgeOne(item: JudgeItem, index: number, signal: AbortSignal, cacheKey?: string) {
    const release = await sem.acquire();
    const t0 = performance.now();
    try {
      signal.throwIfAborted();
      const got = await attemptWithRetries(item, signal);
      if (got.ok) {
        if (cache && cacheKey) cache.set(cacheKey, got.score);
        count("ok", t0);
        return { score: got.score, source: "judge" } satisfies JudgeResult;
      }
      if (got.kind === "auth") {
        if (!fallback) {
          throw new UserError(
            `${got.error}: check GEMINI_API_KEY / the apiKey option (the key is not shown)`,
          );
        }
        if (!offline) {
          offline = got.error;
          log(`judge: ${got.error}; scoring with the ${fallback.name} fallback from now on`);
        }
      }
      if (!fallback) throw new UserError(`judge: item ${index}: ${got.error}`);
      const raw = await fallback.score(item);
      if (typeof raw !== "number" || !Number.isFinite(raw)) {
        throw new UserError(
          `judge: fallback "${fallback.name}" returned ${JSON.stringify(raw)} for item ${index}`,
        );
      }
      count("fallbacks", t0);
      return {
        score: Math.min(10, Math.max(0, raw)),
        source: "fallback",
        error: got.error,
      } satisfies JudgeResult;
    } finally {
      release();
    }
  }

  async function scoreOne(item: JudgeItem, index: number, signal: AbortSignal): Promise<JudgeResult> {
    if (!cache) return await judgeOne(item, index, signal);
    const cacheKey = judgeCacheKey(item, { model, rubric });
    const hit = cache.get(cacheKey);
    if (hit !== undefined) {
      count("cacheHits");
      return { score: hit, source: "cache" };
    }
    const pending = inflight.get(cacheKey);
    if (pending) {
      const r = await pending;
      if (r.source === "fallback") {
        count("fallbacks");
        return { ...r };
      }
      count("cacheHits");
      return { score: r.score, source: "cache" };
    }
    const p = judgeOne(item, index, signal, cacheKey);
    inflight.set(cacheKey, p);
    try {
      return await p;
    } finally {
      inflight.delete(cacheKey);
    }
  }

  return {
    async score(items: JudgeItem[]): Promise<JudgeResult[]> {
      items.forEach((it, i) => {
        for (const f of ["prompt", "response"] as const) {
          if (typeof it?.[f] !== "string") {
            throw new UserError(`judge item ${i}: field "${f}" is not a string`);
          }
        }
        if (it.reference !== undefined && typeof it.reference !== "string") {
          throw new UserError(`judge item ${i}: field "reference" is not a string`);
        }
      });
      const batch = new AbortController();
      let fatal: unknown;
      const results = await Promise.all(items.map((item, i) =>
        scoreOne(item, i, batch.signal).catch((e) => {
          if (fatal === undefined) {
            fatal = e;
            batch.abort(e);
          }
          return null;
        })
      ));
      await cache?.flush();
      if (fatal !== undefined) throw fatal;
      return results as JudgeResult[];
    },
    stats: () => ({ ...st, latencyMs: latencyN ? latencySum / latencyN : 0 }),
    resetStats() {
      st = { calls: 0, ok: 0, errors: 0, fallbacks: 0, cacheHits: 0, retries: 0 };
      latencySum = 0;
      latencyN = 0;
    },
  };
}
