// @ts-types="./genai_types.d.ts"
import { ApiError } from "@google/genai";
import { assert, assertEquals, assertRejects } from "../util/assert.ts";
import { Rng } from "../util/mod.ts";
import {
  backoffDelay,
  classifyFailure,
  describeError,
  JudgeAttemptError,
  retryDelayHintMs,
  scrubSecret,
  Semaphore,
  sleep,
} from "./retry.ts";

Deno.test("Semaphore: never more than `limit` holders, all tasks finish", async () => {
  const sem = new Semaphore(3);
  let now = 0, max = 0;
  await Promise.all(Array.from({ length: 12 }, async (_, i) => {
    const release = await sem.acquire();
    now++, max = Math.max(max, now);
    await sleep(i % 3);
    now--;
    release();
    release(); // a second release is a no-op
  }));
  assertEquals([max, now], [3, 0]);
});

Deno.test("backoffDelay: full jitter under an exponential ceiling, capped, raised to a server hint", () => {
  const rng = new Rng(1);
  for (let attempt = 0; attempt < 8; attempt++) {
    const ceiling = Math.min(1000, 100 * 2 ** attempt);
    const ds = Array.from({ length: 200 }, () => backoffDelay(attempt, rng, { baseMs: 100, maxMs: 1000 }));
    assert(ds.every((d) => d >= 0 && d < ceiling), `attempt ${attempt} out of range`);
    assert(
      Math.max(...ds) > 0.8 * ceiling && Math.min(...ds) < 0.2 * ceiling,
      "not spread over [0, ceiling)",
    );
  }
  assertEquals(backoffDelay(0, rng, { baseMs: 100, maxMs: 1000, hintMs: 700 }), 700);
  assertEquals(backoffDelay(0, rng, { baseMs: 100, maxMs: 1000, hintMs: 37_000 }), 1000);
});

Deno.test("classifyFailure: retry 429/408/5xx/timeouts/network, auth for rejected keys, else permanent", () => {
  const api = (status: number, message = "{}") => new ApiError({ status, message });
  assertEquals([429, 408, 500, 503].map((s) => classifyFailure(api(s))), [
    "retry",
    "retry",
    "retry",
    "retry",
  ]);
  assertEquals([401, 403].map((s) => classifyFailure(api(s))), ["auth", "auth"]);
  assertEquals(
    classifyFailure(api(400, '{"error":{"message":"API key not valid. Please pass a valid API key."}}')),
    "auth",
  );
  assertEquals(classifyFailure(api(400, '{"error":{"message":"bad schema"}}')), "permanent");
  assertEquals(classifyFailure(api(404)), "permanent");
  assertEquals(
    classifyFailure(new Error("exception TypeError: connection refused sending request")),
    "retry",
  );
  assertEquals(classifyFailure(new JudgeAttemptError("permanent", "blocked")), "permanent");
  assertEquals(retryDelayHintMs(api(429, '{"details":[{"retryDelay":"37s"}]}')), 37_000);
  assertEquals(retryDelayHintMs(api(429, "{}")), undefined);
});

Deno.test("describeError / scrubSecret: one line, capped, key and AIza-shaped keys removed", () => {
  const key = "SENTINEL-KEY-1234";
  const e = new ApiError({ status: 401, message: `{"error":\n{"message":"bad key ${key}"}}` });
  const d = describeError(e, { secret: key });
  assert(d.startsWith("HTTP 401: ") && !d.includes(key) && !d.includes("\n") && d.includes("[REDACTED]"), d);
  assertEquals(scrubSecret("k=AIzaSyA1234567890abcdefghijklmnopqrstu!", undefined), "k=[REDACTED]!");
  assertEquals(describeError(new Error("x".repeat(1000)), { secret: key }).length, 300);
});

Deno.test("sleep: resolves after the delay; rejects at once on abort and leaves no timer", async () => {
  const t0 = performance.now();
  await sleep(20);
  assert(performance.now() - t0 >= 15);
  const ctrl = new AbortController();
  const p = sleep(10_000, ctrl.signal);
  ctrl.abort(new Error("stop"));
  await assertRejects(() => p, { cls: Error, includes: "stop" });
  await assertRejects(() => sleep(5, ctrl.signal), { cls: Error, includes: "stop" });
});
