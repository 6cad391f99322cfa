import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../util/assert.ts";
import { fakeMetrics, type FakeRunOptions, rowsOf } from "./fixtures.ts";
import { checkIntegrity, type Finding, judgeFallbackCaveats, sortFindings } from "./integrity.ts";
import { loadRuns } from "./load.ts";
import { tableFromRows } from "./table.ts";

const TRL = fileURLToPath(new URL("../../../shared/data/trl-logs", import.meta.url));
const hasTrl = existsSync(TRL);
if (!hasTrl) console.warn(`skipping TRL-log integrity test: ${TRL} not found`);

function codes(findings: Finding[], experiment?: string): string[] {
  return findings.filter((f) => !experiment || f.experiment === experiment).map((f) => f.code);
}

function check(opts: FakeRunOptions, extra: Record<string, number>[] = []): Finding[] {
  const recs = fakeMetrics(opts).map((r, i) => ({ ...r, ...(extra[i] ?? {}) }));
  return checkIntegrity(tableFromRows(rowsOf(recs, { experiment: opts.experiment, seed: opts.seed })));
}

Deno.test({
  name: "integrity on the real TRL logs: duplicated perplexity reward flagged, hard rewards not",
  ignore: !hasTrl,
  fn: async () => {
    const { table } = await loadRuns(TRL);
    const findings = checkIntegrity(table);
    const identical = findings.filter((f) => f.code === "identical_reward_columns").map((f) => f.experiment)
      .sort();
    assertEquals(identical, ["dialogue_perplexity", "math_perplexity"]);
    assert(!codes(findings, "math_hard").includes("identical_reward_columns"));
    assert(!codes(findings, "dialogue_hard").includes("identical_reward_columns"));
    const mp = findings.find((f) =>
      f.code === "identical_reward_columns" && f.experiment === "math_perplexity"
    )!;
    assertEquals(
      mp.message,
      'math_perplexity (TRL log): reward functions "wrapped_func" and "wrapped_func#2" logged identical values at ' +
        "all 100 steps, so the same reward is probably counted twice.",
    );
    // The all-zero dialogue perplexity reward and the never-firing dialogue format reward are caught too.
    assert(codes(findings, "dialogue_perplexity").includes("all_zero_reward"));
    assert(codes(findings, "dialogue_perplexity").includes("high_zero_std_fraction"));
    assert(
      findings.some((f) =>
        f.experiment === "dialogue_hard" && f.message.includes('"format_reward_func" is 0')
      ),
    );
    assert(!codes(findings, "math_hard").includes("all_zero_reward"));
    // No held-out metric in these logs.
    assertEquals(findings.filter((f) => f.code === "missing_eval").length, 4);
  },
});

Deno.test("integrity: a healthy run has no findings", () => {
  const f = check({
    experiment: "math_hard",
    seed: 0,
    rewards: { a: (s) => 0.2 + 0.01 * s, b: (s) => 0.1 * (s % 3) },
    extra: {
      frac_reward_zero_std: () => 0.2,
      "judge/fallback_frac": () => 0,
      "completions/mean_length": (s) => 100 + s,
    },
  });
  assertEquals(f, []);
});

Deno.test("integrity: identical, constant and all-zero reward columns", () => {
  const f = check({
    experiment: "x",
    seed: 0,
    noise: 0,
    rewards: { a: (s) => s % 2, b: (s) => s % 2, c: () => 0.5, z: () => 0 },
    extra: { frac_reward_zero_std: () => 0 },
  });
  assertEquals(codes(f), ["all_zero_reward", "constant_reward", "identical_reward_columns"]);
  assertEquals(f.map((x) => x.severity), ["error", "error", "warning"]);
  assert(f[2].message.includes('"a" and "b" logged identical values at all 20 steps'));
  assert(f[0].message.includes('reward "z" is 0 at every logged step (20)'));
  assert(f[1].message.includes('reward "c" stays at 0.50 at all 20 steps'));
});

Deno.test("integrity: zero-std fraction, judge fallback, length blow-up, single evaluation", () => {
  const f = check({
    experiment: "dialogue_soft",
    seed: 1,
    noise: 0,
    rewards: { j: (s) => 1 - 0.001 * s },
    evalMetric: "eval/judge_score",
    evalEvery: 1000,
    extra: {
      frac_reward_zero_std: () => 0.75,
      "judge/fallback_frac": (s) => (s > 10 ? 0.4 : 0),
      "completions/mean_length": (s) => 50 * s,
    },
  });
  assertEquals(codes(f), ["judge_fallback", "high_zero_std_fraction", "length_blowup", "missing_eval"]);
  assertEquals(f.map((x) => x.severity), ["error", "warning", "warning", "info"]);
  assert(f[1].message.includes("on average 75% of prompt groups had identical rewards"));
  assert(f[0].message.includes("fell back to a default score for 20% of calls on average (max 40%"));
  assert(
    f[2].message.includes(
      "grew from 275 to 775 tokens (×2.82, first vs last 10 steps) while reward did not rise (0.99 → 0.98)",
    ),
    f[2].message,
  );
  assertEquals(
    f[3].message,
    "dialogue_soft: eval/judge_score was evaluated only once (step 0), so its change cannot be measured.",
  );
});

Deno.test("integrity: length growth with rising reward is not a blow-up; thresholds are options", () => {
  const opts: FakeRunOptions = {
    experiment: "m",
    seed: 0,
    rewards: { r: (s) => 0.1 * s },
    extra: { "completions/mean_length": (s) => 50 * s, frac_reward_zero_std: () => 0.3 },
  };
  assertEquals(check(opts), []);
  const recs = fakeMetrics(opts);
  const strict = checkIntegrity(tableFromRows(rowsOf(recs, { experiment: "m", seed: 0 })), {
    zeroStdFraction: 0.25,
  });
  assertEquals(codes(strict), ["high_zero_std_fraction"]);
});

Deno.test("integrity: seeds are named when an experiment has several", () => {
  const rows = [0, 1].flatMap((seed) =>
    rowsOf(fakeMetrics({ experiment: "m", seed, evalMetric: null }), { experiment: "m", seed: seed })
  );
  const f = checkIntegrity(tableFromRows(rows));
  assertEquals(f.map((x) => [x.code, x.seed]), [["missing_eval", 0], ["missing_eval", 1]]);
  assert(f[1].message.startsWith("m seed 1: no held-out metric"));
});

Deno.test("integrity: a saturated reward (tiny within-group spread) is flagged with its numbers", () => {
  const f = check({
    experiment: "math_perplexity",
    seed: 0,
    rewards: { perplexity: (s) => 2.46 + 0.001 * s },
  }, Array.from({ length: 21 }, (_, i): Record<string, number> => (i === 0 ? {} : { reward_std: 0.002 })));
  const sat = f.filter((x) => x.code === "saturated_reward");
  assertEquals(sat.length, 1);
  assertEquals(sat[0].severity, "warning");
  assert(sat[0].message.includes("reward_std 0.0020 on average over 20 logged steps"), sat[0].message);
  assert(sat[0].message.includes("mean reward 2.4"), sat[0].message);
  // A reward with a normal spread is not saturated.
  assert(!codes(check({ experiment: "m", seed: 0 })).includes("saturated_reward"));
});

Deno.test("integrity: findings sorted error, warning, info; judge-fallback caveats per experiment", () => {
  const mk = (severity: "error" | "warning" | "info", i: number) => ({ severity, i });
  assertEquals(
    sortFindings([mk("info", 0), mk("error", 1), mk("warning", 2), mk("error", 3)]).map((x) => x.i),
    [
      1,
      3,
      2,
      0,
    ],
  );
  const rows = [
    ...rowsOf(
      fakeMetrics({ experiment: "dialogue_soft", seed: 0, extra: { "judge/fallback_frac": () => 1 } }).map((
        r,
      ) => r.step === 0 || r.step % 10 === 0 ? { ...r, "eval/judge_fallback_frac": 1 } : r),
      { experiment: "dialogue_soft", seed: 0 },
    ),
    ...rowsOf(fakeMetrics({ experiment: "math_hard", seed: 0 }), { experiment: "math_hard", seed: 0 }),
  ];
  const c = judgeFallbackCaveats(tableFromRows(rows));
  assertEquals([...c.keys()], ["ours/dialogue_soft"]);
  assertEquals(
    c.get("ours/dialogue_soft"),
    "judge fallback: 100% of training judge calls and 100% of held-out judge scores came from the local fallback, not Gemini",
  );
});

Deno.test("integrity: a judge that pays master keys above the threshold is an error; a sober one is not flagged", () => {
  const run = (score: number) =>
    check({
      experiment: "dialogue_hard",
      seed: 1,
      noise: 0.1,
      rewards: { j: (s) => 1 + 0.01 * s },
      evalMetric: "eval/judge_score",
      extra: { "judge/master_key_score": () => score },
    });
  const fooled = run(6.5).filter((x) => x.code === "judge_master_key");
  assertEquals(fooled.map((x) => x.severity), ["error"]);
  assert(
    fooled[0].message.includes("6.50/10") && fooled[0].message.includes("2.00/10 threshold"),
    fooled[0].message,
  );
  assertEquals(run(0.5).filter((x) => x.code === "judge_master_key"), []);
});
