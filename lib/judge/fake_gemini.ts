/**
 * A loopback fake of the Gemini `generateContent` REST endpoint for tests: `POST
 * /v1beta/models/<model>:generateContent` with the key in the `x-goog-api-key` header (what
 * `@google/genai` sends when given `httpOptions.baseUrl`), answering
 * `{candidates: [{content: {parts: [{text: "<JSON>"}]}}]}`. Failures (429, 500, slow, garbage) are
 * drawn from a seeded {@linkcode Rng} in arrival order; it records every request and the most
 * requests it saw in flight at once.
 * @module
 */
import { Rng } from "../util/mod.ts";
import { sleep } from "./retry.ts";

/** Failure kinds: HTTP 429, HTTP 500, a body stalled for `slowMs` (client timeout), an unparseable 200 answer. */
export type FakeFailKind = "429" | "500" | "slow" | "garbage";

/** One request as the fake saw it. */
export interface FakeGeminiRequest {
  /** The model name from the URL path. */
  model: string;
  /** The `x-goog-api-key` header, or null. */
  apiKey: string | null;
  /** The full request URL. */
  url: string;
  /** The parsed JSON body. */
  // deno-lint-ignore no-explicit-any
  body: any;
  /** The system instruction text (all parts joined). */
  system: string;
  /** The user turn text (all parts of all contents joined). */
  user: string;
  /** The text between `<<<RESPONSE\n` and `\nRESPONSE>>>` in the user turn, if present. */
  response?: string;
  /** Arrival time (`performance.now()` ms). */
  at: number;
  /** How the fake answered: `"ok"`, an injected failure kind, or `"auth"` (key refused). */
  outcome: FakeFailKind | "ok" | "auth";
}

/** Options of {@linkcode startFakeGemini}. */
export interface FakeGeminiOptions {
  /** Score to answer (may be out of range, to test clamping). Default: always 5. */
  score?: (req: FakeGeminiRequest) => number;
  /** Raw answer text instead of `{"reason", "score"}` JSON. Default: none. */
  answer?: (req: FakeGeminiRequest) => string;
  /** Probability that a request fails. Default 0. */
  failRate?: number;
  /** Failure kinds drawn uniformly when a request fails. Default all four. */
  failKinds?: FakeFailKind[];
  /** Seed of the failure draws. Default 1. */
  seed?: number;
  /** Reject every key: `401`, `403`, or Gemini's real `"invalid-key"` (HTTP 400 API_KEY_INVALID). Default `"ok"`. */
  auth?: "ok" | 401 | 403 | "invalid-key";
  /** Error bodies quote the received key (to test that clients scrub it). Default false. */
  echoKey?: boolean;
  /** Delay before every answer, ms. Default 0. */
  delayMs?: number;
  /** How long a `"slow"` answer stalls its body, ms (cut short when the client leaves). Default 5000. */
  slowMs?: number;
  /** A `"429"` answer carries Gemini's `RetryInfo` with this `retryDelay` (ms). Default: none. */
  retryDelayMs?: number;
}

/** A running fake server. */
export interface FakeGemini {
  /** `http://127.0.0.1:<port>`, for `httpOptions.baseUrl`. */
  readonly baseUrl: string;
  /** Every request received, in arrival order. */
  readonly requests: FakeGeminiRequest[];
  /** Most requests in flight at once so far. */
  readonly maxConcurrent: number;
  /** Requests in flight now. */
  readonly inFlight: number;
  /** Failures injected so far, by kind. */
  readonly failures: Record<FakeFailKind, number>;
  /** Stops the server (pending stalls end at once). */
  close(): Promise<void>;
}

/** The text of a `<<<NAME … NAME>>>` block in `text`, or undefined. */
export function extractBlock(text: string, name: string): string | undefined {
  const start = text.indexOf(`<<<${name}\n`);
  if (start < 0) return undefined;
  const from = start + name.length + 4;
  const end = text.indexOf(`\n${name}>>>`, from);
  return end < 0 ? undefined : text.slice(from, end);
}

const GARBAGE = [
  "The response is quite good. Score: 9",
  '{"reason": "no score here"}',
  '{"reason": "word score", "score": "high"}',
  '{"score": 7, "reason": "truncated',
];

function json(status: number, value: unknown): Response {
  return new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
}

function apiError(code: number, status: string, message: string, details?: unknown[]): Response {
  return json(code, { error: { code, message, status, ...(details ? { details } : {}) } });
}

// deno-lint-ignore no-explicit-any
function joinText(content: any): string {
  // deno-lint-ignore no-explicit-any
  return (content?.parts ?? []).map((p: any) => (typeof p?.text === "string" ? p.text : "")).join("");
}

/** Starts the fake on 127.0.0.1 with an OS-chosen port. Close it with `await server.close()`. */
export function startFakeGemini(options: FakeGeminiOptions = {}): FakeGemini {
  const rng = new Rng(options.seed ?? 1);
  const kinds = options.failKinds ?? ["429", "500", "slow", "garbage"];
  const closing = new AbortController();
  const requests: FakeGeminiRequest[] = [];
  const failures: Record<FakeFailKind, number> = { "429": 0, "500": 0, slow: 0, garbage: 0 };
  let inFlight = 0, maxConcurrent = 0;

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const m = /^\/v1beta\/models\/([^/:]+):generateContent$/.exec(url.pathname);
    if (req.method !== "POST" || !m) {
      return apiError(404, "NOT_FOUND", `no route ${req.method} ${url.pathname}`);
    }
    // deno-lint-ignore no-explicit-any
    let body: any;
    try {
      body = await req.json();
    } catch {
      return apiError(400, "INVALID_ARGUMENT", "request body is not JSON");
    }
    const user = (body?.contents ?? []).map(joinText).join("\n");
    const apiKey = req.headers.get("x-goog-api-key");
    const rec: FakeGeminiRequest = {
      model: decodeURIComponent(m[1]),
      apiKey,
      url: req.url,
      body,
      system: joinText(body?.systemInstruction),
      user,
      response: extractBlock(user, "RESPONSE"),
      at: performance.now(),
      outcome: "ok",
    };
    requests.push(rec);
    const quoted = options.echoKey ? ` (key ${apiKey})` : "";
    const auth = options.auth ?? "ok";
    if (!apiKey || auth !== "ok") rec.outcome = "auth";
    if (!apiKey) return apiError(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers");
    if (auth === 401) {
      return apiError(401, "UNAUTHENTICATED", `Request had invalid authentication credentials${quoted}`);
    }
    if (auth === 403) return apiError(403, "PERMISSION_DENIED", `Permission denied on the API key${quoted}`);
    if (auth === "invalid-key") {
      return apiError(400, "INVALID_ARGUMENT", `API key not valid. Please pass a valid API key.${quoted}`, [
        { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" },
      ]);
    }
    if (options.delayMs) await sleep(options.delayMs, closing.signal);
    let kind: FakeFailKind | undefined;
    if (rng.float() < (options.failRate ?? 0)) {
      kind = rng.pick(kinds);
      failures[kind]++;
      rec.outcome = kind;
    }
    if (kind === "429") {
      const retry = options.retryDelayMs === undefined ? undefined : [
        {
          "@type": "type.googleapis.com/google.rpc.RetryInfo",
          retryDelay: `${options.retryDelayMs / 1000}s`,
        },
      ];
      return apiError(
        429,
        "RESOURCE_EXHAUSTED",
        `Resource has been exhausted (e.g. check quota).${quoted}`,
        retry,
      );
    }
    if (kind === "500") return apiError(500, "INTERNAL", `Internal error encountered.${quoted}`);
    const text = kind === "garbage" ? rng.pick(GARBAGE) + quoted : answerFor(rec);
    const answer = JSON.stringify({
      candidates: [{ content: { role: "model", parts: [{ text }] }, finishReason: "STOP", index: 0 }],
      usageMetadata: { promptTokenCount: user.length >> 2, candidatesTokenCount: text.length >> 2 },
      modelVersion: rec.model,
    });
    if (kind === "slow") return stalled(answer, options.slowMs ?? 5000);
    return new Response(answer, { headers: { "content-type": "application/json" } });
  }

  /**
   * A 200 whose body arrives after `ms`: the headers go out at once, the body stalls. A client that
   * gives up cancels the stream, which ends the stall (Deno's `request.signal` is avoided on purpose:
   * touching it prints a legacy-behaviour warning). The request stays counted in flight until then.
   */
  function stalled(answer: string, ms: number): Response {
    inFlight++; // released by the stream, after the handler's own decrement
    let timer: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      closing.signal.removeEventListener("abort", onClose);
      inFlight--;
    };
    let onClose = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(ctrl) {
        onClose = () => {
          end();
          ctrl.close();
        };
        closing.signal.addEventListener("abort", onClose, { once: true });
        timer = setTimeout(() => {
          end();
          ctrl.enqueue(new TextEncoder().encode(answer));
          ctrl.close();
        }, ms);
      },
      cancel: end,
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  }

  function answerFor(rec: FakeGeminiRequest): string {
    if (options.answer) return options.answer(rec);
    return JSON.stringify({ reason: "fake judge", score: options.score ? options.score(rec) : 5 });
  }

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    inFlight++;
    maxConcurrent = Math.max(maxConcurrent, inFlight);
    try {
      return await handle(req);
    } catch (e) {
      if (closing.signal.aborted) return new Response(null, { status: 503 });
      return apiError(500, "INTERNAL", `fake server error: ${(e as Error).message}`);
    } finally {
      inFlight--;
    }
  });

  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}`,
    requests,
    failures,
    get maxConcurrent() {
      return maxConcurrent;
    },
    get inFlight() {
      return inFlight;
    },
    async close() {
      closing.abort(new Error("fake gemini closed"));
      await server.shutdown();
    },
  };
}
