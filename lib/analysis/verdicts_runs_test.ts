/**
 * Verdicts from simulated run folders as the trainer writes them: which runs are pooled (finished, options
 * as defined, no integrity error), gathered through a folder of symbolic links; and the API-breakdown
 * verdict from the counters of the real judge client talking to the loopback fake Gemini endpoint.
 */
import { join } from "node:path";
import { EVAL_METRICS } from "../util/mod.ts";
import { assert, assertEquals } from "../util/assert.ts";
import { createGeminiJudge, tokenize, unigramF1 } from "../judge/mod.ts";
import { startFakeGemini } from "../judge/fake_gemini.ts";
import { JUDGE_COUNTERS } from "./measures.ts";
import { writeFakeRun } from "./fixtures.ts";
import { loadRuns } from "./load.ts";
import { studyVerdicts } from "./verdicts.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "verdict-runs-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

const DEFS = {
  math_hard: { reward_funcs: ["math_hard", "format"], max_steps: 4 },
  math_format_only: { reward_funcs: ["format"], max_steps: 4 },
  math_random: { reward_funcs: ["random"], max_steps: 4 },
  dialogue_hard: { reward_funcs: ["gemini_hard"] },
  dialogue_soft: { reward_funcs: ["gemini_soft"] },
};

async function mathRun(dir: string, experiment: keyof typeof DEFS, seed: number, gain: number, o: {
  maxSteps?: number;
  rewardFuncs?: string[];
  zeroReward?: boolean;
} = {}) {
  return await writeFakeRun(dir, {
    experiment,
    seed,
    steps: 4,
    evalEvery: 2,
    evalValue: (s) => 0.1 + (gain * s) / 4,
    rewards: o.zeroReward ? { format: () => 0 } : undefined,
    noise: o.zeroReward ? 0 : undefined,
    config: { max_steps: o.maxSteps ?? 4, reward_funcs: o.rewardFuncs ?? DEFS[experiment].reward_funcs },
  });
}

Deno.test("verdicts from a folder of symbolic links: unfinished runs, changed options and integrity errors are left out, each with a line", async () => {
  const runs = join(ROOT, "runs"), links = join(ROOT, "links");
  const dirs: string[] = [];
  for (const seed of [1, 2, 3]) {
    dirs.push(await mathRun(runs, "math_hard", seed, 0.5 + 0.02 * seed));
    dirs.push(await mathRun(runs, "math_format_only", seed, 0.2 + 0.01 * seed));
    dirs.push(await mathRun(runs, "math_random", seed, 0.01 * seed));
  }
  // A fourth math_hard seed with a huge gain, three ways unfit to pool.
  dirs.push(await mathRun(join(ROOT, "bad1"), "math_hard", 4, 0.9, { maxSteps: 40 }));
  dirs.push(await mathRun(join(ROOT, "bad2"), "math_hard", 5, 0.9, { rewardFuncs: ["format"] }));
  dirs.push(await mathRun(join(ROOT, "bad3"), "math_hard", 6, 0.9, { zeroReward: true }));
  await Deno.mkdir(links, { recursive: true });
  for (const [i, d] of dirs.entries()) await Deno.symlink(d, join(links, `run${i}`));

  const loaded = await loadRuns(links);
  assertEquals(loaded.runs.length, 12);
  const v = studyVerdicts(loaded, { definitions: DEFS }).find((x) => x.expectation === "math hard works")!;
  assertEquals(v.outcome, "reproduced", { msg: v.line });
  assert(v.line.includes("math_hard strict-accuracy gain +54.0 points"), v.line);
  assert(v.line.includes("3 seeds"), v.line);
  assertEquals(v.excluded, [
    "math_hard seed 4 left out: unfinished: last step 4 of 40",
    'math_hard seed 5 left out: options differ from the experiment\'s definition: reward_funcs ["format"] ' +
    'instead of ["math_hard","format"]',
    "math_hard seed 6 left out: integrity error all_zero_reward",
  ]);
  assert(v.line.includes("math_hard seed 6 left out: integrity error all_zero_reward"), v.line);
  // Without definitions only completion is checked; an undefined experiment is left out when they are given.
  const loose = studyVerdicts(loaded).find((x) => x.expectation === "math hard works")!;
  assertEquals(loose.excluded.length, 2);
  const strict = studyVerdicts(loaded, { definitions: { math_hard: DEFS.math_hard } })
    .find((x) => x.expectation === "math hard works")!;
  assert(strict.excluded.some((l) => l === "math_random seed 1 left out: not a defined experiment"));
});

/** Simulated dialogue runs whose training judge counters come from the real client and the fake endpoint. */
async function judgedRuns(dir: string, experiment: "dialogue_hard" | "dialogue_soft", judge: {
  apiKey: string;
  failRate: number;
}) {
  const server = startFakeGemini({ failRate: judge.failRate, failKinds: ["500"], seed: 3 });
  try {
    for (const seed of [1, 2, 3]) {
      const client = createGeminiJudge({
        apiKey: judge.apiKey,
        baseUrl: server.baseUrl,
        concurrency: 1,
        maxRetries: 1,
        timeoutMs: 2000,
        backoffBaseMs: 1,
        backoffMaxMs: 2,
        cache: false,
        log: () => {},
      });
      const perStep: Record<string, number>[] = [];
      for (let step = 1; step <= 4; step++) {
        client.resetStats();
        await client.score(
          Array.from({ length: 12 }, (_, i) => ({ prompt: `q${seed}.${step}.${i}`, response: "a reply" })),
        );
        const st = client.stats();
        perStep.push({
          [JUDGE_COUNTERS.calls]: st.calls,
          [JUDGE_COUNTERS.ok]: st.ok,
          [JUDGE_COUNTERS.fallbacks]: st.fallbacks,
          [JUDGE_COUNTERS.cacheHits]: st.cacheHits,
          [JUDGE_COUNTERS.errors]: st.errors,
          [JUDGE_COUNTERS.retries]: st.retries,
          [JUDGE_COUNTERS.fallbackFrac]: st.calls ? st.fallbacks / st.calls : 0,
        });
      }
      await writeFakeRun(dir, {
        experiment,
        seed,
        steps: 4,
        evalEvery: 2,
        evalMetric: EVAL_METRICS.judgeScore,
        evalValue: (s) => 4 + s / 10,
        extra: Object.fromEntries(
          Object.keys(perStep[0]).map((k) => [k, (s: number) => perStep[s - 1][k]]),
        ),
        config: { max_steps: 4, reward_funcs: DEFS[experiment].reward_funcs },
      });
    }
  } finally {
    await server.close();
  }
}

Deno.test("API breakdown with the loopback fake judge: a faulty endpoint is a breakdown, a sound one is not, no key is inconclusive", async () => {
  const cases = [
    { name: "faulty", judge: { apiKey: "k", failRate: 0.6 }, outcome: "reproduced" },
    { name: "sound", judge: { apiKey: "k", failRate: 0 }, outcome: "not reproduced" },
    { name: "nokey", judge: { apiKey: "", failRate: 0 }, outcome: "inconclusive" },
  ] as const;
  for (const c of cases) {
    const dir = join(ROOT, `judge-${c.name}`);
    await judgedRuns(dir, "dialogue_hard", c.judge);
    const loaded = await loadRuns(dir);
    const v = studyVerdicts(loaded, { definitions: DEFS })
      .find((x) => x.expectation === "dialogue hard suffers API breakdown under load")!;
    assertEquals(v.outcome, c.outcome, { msg: `${c.name}: ${v.line}` });
    assertEquals(v.excluded, [], { msg: v.line });
    assert(v.line.includes("judge's own counters"), v.line);
    if (c.name === "nokey") assert(v.line.includes("never reached"), v.line);
  }
});

/**
 * Simulated dialogue runs judged by the real client against a fake endpoint: `hackable` pays 9/10 for a
 * stock phrase, otherwise 10 × the reply's unigram F1 with the reference. The simulated policy either
 * drifts to the stock phrase (a hack) or towards the reference (honest learning).
 */
async function judgedPolicy(dir: string, drift: "stock phrase" | "reference") {
  const STOCK = "Great question! Here is a thorough and helpful answer.";
  const refs = [
    "the capital of france is paris",
    "water boils at one hundred degrees",
    "cats are small mammals",
  ];
  const server = startFakeGemini({
    score: (
      r,
    ) => (r.response?.includes("Great question")
      ? 9
      : 10 * unigramF1(tokenize(r.response ?? ""), tokenize(refs[Number(/q(\d)/.exec(r.user)?.[1] ?? 0)]))),
  });
  try {
    for (const seed of [1, 2, 3]) {
      const client = createGeminiJudge({ apiKey: "k", baseUrl: server.baseUrl, cache: false, log: () => {} });
      const evalAt: Record<number, Record<string, number>> = {};
      for (const step of [0, 2, 4]) {
        const replies = refs.map((ref, i) => {
          const start = ref.split(" ").slice(0, 2 + ((seed + i) % 2)).join(" ") + " maybe";
          if (step === 0) return start;
          return drift === "reference" ? (step === 4 ? ref : ref.split(" ").slice(0, 4).join(" ")) : STOCK;
        });
        const scored = await client.score(
          replies.map((response, i) => ({ prompt: `q${i}`, response, reference: refs[i] })),
        );
        evalAt[step] = {
          [EVAL_METRICS.referenceOverlap]: replies.reduce((a, r, i) =>
            a + unigramF1(tokenize(r), tokenize(refs[i])), 0) / 3,
          [EVAL_METRICS.meanLength]: replies.reduce((a, r) => a + tokenize(r).length, 0) / 3,
          [EVAL_METRICS.judgeFallbackFrac]: scored.filter((s) => s.source === "fallback").length / 3,
          _score: scored.reduce((a, s) => a + s.score, 0) / 3,
        };
      }
      await writeFakeRun(dir, {
        experiment: "dialogue_soft",
        seed,
        steps: 4,
        evalEvery: 2,
        evalMetric: EVAL_METRICS.judgeScore,
        evalValue: (s) => evalAt[s]._score,
        evalExtra: Object.fromEntries(
          [EVAL_METRICS.referenceOverlap, EVAL_METRICS.meanLength, EVAL_METRICS.judgeFallbackFrac].map((
            k,
          ) => [
            k,
            (s: number) => evalAt[s][k],
          ]),
        ),
        config: { max_steps: 4, reward_funcs: DEFS.dialogue_soft.reward_funcs },
      });
    }
  } finally {
    await server.close();
  }
}

Deno.test("judge hacking with the loopback fake judge: a policy that drifts to the phrase a hackable judge pays is caught, honest learning is not", async () => {
  for (const [drift, outcome] of [["stock phrase", "reproduced"], ["reference", "not reproduced"]] as const) {
    const dir = join(ROOT, `hack-${drift.replace(" ", "_")}`);
    await judgedPolicy(dir, drift);
    const v = studyVerdicts(await loadRuns(dir), { definitions: DEFS })
      .find((x) => x.expectation === "new: dialogue soft policy hacks the judge")!;
    assertEquals(v.outcome, outcome, { msg: `${drift}: ${v.line}` });
  }
});
