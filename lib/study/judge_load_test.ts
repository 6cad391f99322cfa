/**
 * The judge under load and faults, at the experiment level (issue 6, item 3): a small dialogue_hard run
 * on the embedded tiny model against the loopback fake Gemini, 30% of whose answers are 429 / 500 /
 * stalls past the timeout / unparseable. The run must finish, and its logged metrics must account for
 * every item and every HTTP attempt the server saw; retries honour the server's retryDelay; the server
 * never sees more requests at once than the concurrency bound; every fallback is counted.
 * @module
 */
import { join } from "node:path";
import type { MetricsRow } from "../grpo/mod.ts";
import { readJsonLines } from "../util/mod.ts";
import { assert, assertEquals } from "../util/assert.ts";
import { createGeminiJudge, escapeDelimited } from "../judge/mod.ts";
import { startFakeGemini } from "../judge/fake_gemini.ts";
import { runExperiment } from "./experiments.ts";

const TINY = new URL("../../data/tiny", import.meta.url).pathname;
const BOUND = 2, RETRY_DELAY_MS = 150, MAX_RETRIES = 2;
const STEPS = 3, BATCH = 4, EVAL = 4;

/** Items the fake never answers with JSON (so they must end as counted fallbacks): about a third. */
const refuses = (response: string | undefined) => (response ?? "").length % 3 === 0;
const sum = (rows: MetricsRow[], key: string) => rows.reduce((a, r) => a + (r[key] ?? 0), 0);

Deno.test({
  name:
    "judge load: dialogue_hard completes with 30% faults; every call and attempt is accounted in the logs",
  sanitizeResources: false,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "judge-load-" });
    const fake = startFakeGemini({
      failRate: 0.3,
      seed: 12,
      slowMs: 4000,
      retryDelayMs: RETRY_DELAY_MS,
      answer: (
        req,
      ) => (refuses(req.response) ? "I would say 10" : JSON.stringify({ reason: "ok", score: 8 })),
    });
    const notices: string[] = [];
    try {
      const judge = createGeminiJudge({
        apiKey: "load-test-key",
        baseUrl: fake.baseUrl,
        concurrency: BOUND,
        timeoutMs: 1000,
        maxRetries: MAX_RETRIES,
        backoffBaseMs: 20,
        backoffMaxMs: 400,
        log: (l) => notices.push(l),
      });
      const res = await runExperiment("dialogue_hard", {
        judge,
        print: false,
        handleSigint: false,
        log: () => {},
        params: {
          model: TINY,
          device: "cpu",
          threads: 1,
          output_dir: out,
          max_steps: STEPS,
          num_generations: 2,
          per_device_train_batch_size: BATCH,
          eval_size: EVAL,
          eval_steps: 0,
          max_completion_length: 24,
          save_steps: 0,
        },
      });
      assertEquals(res.step, STEPS, { msg: "the run finished" });
      const rows = (await readJsonLines<MetricsRow>(join(out, "metrics.jsonl"))).rows;
      const train = rows.filter((r) => r.step > 0);
      const evals = rows.filter((r) => r["eval/judge_score"] !== undefined);
      assertEquals(train.map((r) => r.step), [1, 2, 3]);
      assertEquals(evals.map((r) => r.step), [0, STEPS], { msg: "evaluated at the start and the end" });

      // Every item lands in exactly one bucket, per step and per evaluation.
      for (const r of train) {
        assertEquals(r["judge/calls"], BATCH, { msg: `step ${r.step}: one judge call per completion` });
        assertEquals(r["judge/calls"], r["judge/ok"] + r["judge/fallbacks"] + r["judge/cache_hits"], {
          msg: `step ${r.step}`,
        });
        assertEquals(r["judge/fallback_frac"], r["judge/fallbacks"] / r["judge/calls"]);
      }
      for (const r of evals) {
        assertEquals(r["eval/judge_calls"], EVAL, { msg: `eval at step ${r.step}` });
        assertEquals(
          r["eval/judge_calls"],
          r["eval/judge_ok"] + r["eval/judge_fallbacks"] + r["eval/judge_cache_hits"],
          { msg: `eval at step ${r.step}` },
        );
        assertEquals(r["eval/judge_fallback_frac"], r["eval/judge_fallbacks"] / EVAL);
      }

      // Every HTTP attempt the server saw is one logged ok or one logged error; injected faults are errors.
      // (the master-key audit after each evaluation logs its own counters)
      const ok = sum(rows, "judge/ok") + sum(rows, "eval/judge_ok") + sum(rows, "judge/master_key_ok");
      const errors = sum(rows, "judge/errors") + sum(rows, "eval/judge_errors") +
        sum(rows, "judge/master_key_errors");
      assertEquals(fake.requests.length, ok + errors, { msg: "requests = ok + errors" });
      const injected = fake.requests.filter((r) => r.outcome !== "ok").length;
      assert(injected >= 3, `the fake injected faults (${JSON.stringify(fake.failures)})`);
      const unanswerable = fake.requests.filter((r) => r.outcome === "ok" && refuses(r.response)).length;
      assertEquals(errors, injected + unanswerable, {
        msg: "every injected fault and unusable answer is a logged error",
      });
      assert(sum(rows, "judge/retries") + sum(rows, "eval/judge_retries") > 0, "faults were retried");
      for (const r of evals) {
        assertEquals(
          r["judge/master_key_calls"],
          r["judge/master_key_ok"] + r["judge/master_key_fallbacks"] + r["judge/master_key_cache_hits"],
        );
      }

      // The concurrency bound holds at the server, and requests did overlap.
      assert(fake.maxConcurrent <= BOUND, `server saw ${fake.maxConcurrent} requests at once`);
      assert(fake.maxConcurrent === BOUND, "requests overlapped up to the bound");

      // A 429's retry waits at least the server's retryDelay.
      let checked = 0;
      fake.requests.forEach((r, i) => {
        if (r.outcome !== "429") return;
        const next = fake.requests.slice(i + 1).find((x) => x.user === r.user);
        if (!next) return;
        checked++;
        assert(next.at - r.at >= RETRY_DELAY_MS - 5, `retry after ${Math.round(next.at - r.at)} ms`);
      });
      assert(checked > 0 || fake.failures["429"] === 0, "some 429 was retried");

      // No reward is silently neutral: the fake says 8 (→ 2 points) or nothing usable, so every reward
      // that is not 2 belongs to an unanswerable item or to a fallback counted in its step's row.
      const comps = (await readJsonLines<{ step: number; completion: string; reward: number }>(
        join(out, "completions.jsonl"),
      )).rows;
      assertEquals(comps.length, STEPS * BATCH);
      for (const r of train) {
        const mine = comps.filter((c) => c.step === r.step);
        const refused = mine.filter((c) => refuses(escapeDelimited(c.completion))).length;
        const odd = mine.filter((c) => c.reward !== 2 && !refuses(escapeDelimited(c.completion))).length;
        assert(
          refused + odd <= r["judge/fallbacks"],
          `step ${r.step}: ${refused}+${odd} vs ${r["judge/fallbacks"]}`,
        );
      }
      assert(sum(train, "judge/fallbacks") > 0, "some training rewards came from the fallback");
      assert(notices.every((l) => !l.includes("load-test-key")), "the key is never in a notice");
    } finally {
      await fake.close();
      await Deno.remove(out, { recursive: true });
    }
  },
});
