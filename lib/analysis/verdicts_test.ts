import { EVAL_METRICS } from "../util/mod.ts";
import { assert, assertEquals } from "../util/assert.ts";
import { EXPECTATIONS } from "./claims.ts";
import { JUDGE_COUNTERS } from "./measures.ts";
import { fakeMetrics, rowsOf } from "./fixtures.ts";
import { type MetricRow, tableFromRows } from "./table.ts";
import { studyVerdicts, type Verdict, VERDICT_METHOD, verdictNotes } from "./verdicts.ts";

/** Math runs: per seed the held-out strict accuracy at each evaluation (steps 0, 2, 4, …). */
function math(experiment: string, perSeed: number[][], opts: { noisyReward?: boolean } = {}): MetricRow[] {
  return perSeed.flatMap((evals, i) => {
    const seed = i + 1;
    const records = fakeMetrics({
      experiment,
      seed,
      steps: 2 * (evals.length - 1),
      evalEvery: 2,
      evalValue: (s) => evals[s / 2],
      noise: opts.noisyReward ? 0.8 : 0.05,
    });
    return rowsOf(records, { experiment: experiment, seed: seed });
  });
}
/** Gains over a 0.1 base, evaluated at steps 0 and 2. */
const gains = (xs: number[]) => xs.map((g) => [0.1, 0.1 + g]);
const has = (s: string, sub: string) => assert(s.includes(sub), `"${sub}" not in: ${s}`);
const find = (vs: Verdict[], s: string) => vs.find((v) => v.expectation.startsWith(s))!;

Deno.test("verdicts: math hard works when its gain beats zero and both controls, by paired t on shared seeds", () => {
  const table = tableFromRows([
    ...math("math_hard", gains([0.45, 0.5, 0.55])),
    ...math("math_format_only", gains([0.2, 0.22, 0.25])),
    ...math("math_random", gains([0.0, 0.02, -0.01])),
  ]);
  const v = find(studyVerdicts(table), "math hard works");
  assertEquals(v.outcome, "reproduced");
  assertEquals(v.claims.map((c) => c.status), ["holds", "holds", "holds", "reported"]);
  // mean 50, sd 5, t(2) = 4.303: ±12.4 — wider than the [45, 55] a percentile bootstrap would give.
  has(v.line, "math_hard strict-accuracy gain +50.0 points (95% CI +37.6 to +62.4, t, 3 seeds)");
  has(v.line, "beyond math_format_only +27.7 points");
  has(v.line, "paired t, 3 shared seeds");
  has(v.line, "math_hard lenient-accuracy gain beyond math_format_only: no runs [reported, decides nothing]");
});

Deno.test("verdicts: a gain no larger than the format-only control is not attributed", () => {
  const table = tableFromRows([
    ...math("math_hard", gains([0.3, 0.35, 0.4])),
    ...math("math_format_only", gains([0.5, 0.55, 0.6])),
    ...math("math_random", gains([0, 0, 0.01])),
  ]);
  const v = find(studyVerdicts(table), "math hard works");
  assertEquals(v.outcome, "not reproduced");
  assertEquals(v.claims[1].status, "contradicted");
});

Deno.test("verdicts: one seed or missing runs are inconclusive, never reproduced; one verdict per claims-table row", () => {
  const vs = studyVerdicts(tableFromRows(math("math_hard", gains([0.5]))));
  has(find(vs, "math hard works").line, "(1 seed, no interval)");
  has(find(vs, "math hard works").line, "beyond math_random: no runs");
  assert(vs.every((v) => v.outcome === "inconclusive"), vs.map((v) => v.line).join("\n"));
  assertEquals(vs.map((v) => v.expectation), EXPECTATIONS.map((e) => e.expectation));
  assert(VERDICT_METHOD.includes("Student t") && VERDICT_METHOD.includes("paired"));
});

Deno.test("verdicts: math perplexity fails when it gains less than δ beyond format-only and less than math_hard", () => {
  const table = tableFromRows([
    ...math("math_hard", gains([0.45, 0.5, 0.55])),
    ...math("math_format_only", gains([0.2, 0.22, 0.25])),
    ...math("math_perplexity", gains([0.2, 0.21, 0.23])),
  ]);
  assertEquals(find(studyVerdicts(table), "math perplexity fails").outcome, "reproduced");
  const beating = tableFromRows([
    ...math("math_hard", gains([0.1, 0.12, 0.11])),
    ...math("math_format_only", gains([0.0, 0.01, 0.0])),
    ...math("math_perplexity", gains([0.3, 0.32, 0.35])),
  ]);
  assertEquals(find(studyVerdicts(beating), "math perplexity fails").outcome, "not reproduced");
});

Deno.test("verdicts: math soft must learn beyond both controls, and its instability is held-out drops, not reward noise", () => {
  const controls = [
    ...math("math_format_only", [[0.1, 0.3, 0.3], [0.1, 0.32, 0.31], [0.1, 0.29, 0.3]]),
    ...math("math_random", [[0.1, 0.1, 0.1], [0.1, 0.12, 0.1], [0.1, 0.1, 0.11]]),
  ];
  const hard = math("math_hard", [[0.1, 0.5, 0.55], [0.1, 0.5, 0.56], [0.1, 0.52, 0.55]]);
  const dropping = math("math_soft", [[0.1, 0.6, 0.45], [0.1, 0.62, 0.5], [0.1, 0.58, 0.44]]);
  const v = find(studyVerdicts(tableFromRows([...controls, ...hard, ...dropping])), "math soft");
  assertEquals(v.outcome, "reproduced", { msg: v.line });
  has(v.line, "largest held-out strict-accuracy drop between evaluations, math_soft minus math_hard +");
  has(v.line, "never on the training reward's step noise");
  // A very noisy training reward with steady held-out accuracy is not instability.
  const steady = math("math_soft", [[0.1, 0.5, 0.55], [0.1, 0.51, 0.57], [0.1, 0.5, 0.56]], {
    noisyReward: true,
  });
  const s = find(studyVerdicts(tableFromRows([...controls, ...hard, ...steady])), "math soft");
  assert(s.outcome !== "reproduced", s.line);
  // Learning only as much as format-only does is not "learns".
  const formatOnly = math("math_soft", [[0.1, 0.4, 0.25], [0.1, 0.38, 0.24], [0.1, 0.41, 0.26]]);
  const f = find(studyVerdicts(tableFromRows([...controls, ...hard, ...formatOnly])), "math soft");
  assertEquals(f.outcome, "not reproduced", { msg: f.line });
});

/** Dialogue runs with judge-scored held-out metrics and the trainer's judge counters. */
function dialogue(
  experiment: string,
  seeds: number,
  o: {
    judge: [number, number];
    overlap?: [number, number];
    length?: [number, number];
    evalFallback?: number;
    masterKey?: number;
    counters?: (seed: number, step: number) => Record<string, number>;
  },
): MetricRow[] {
  return Array.from({ length: seeds }, (_, i) => i + 1).flatMap((seed) => {
    const lin = ([a, b]: [number, number], j = 0) => (s: number) => a + ((b - a) * s) / 4 + j;
    const jitter = 0.01 * seed;
    const records = fakeMetrics({
      experiment,
      seed,
      steps: 4,
      evalEvery: 2,
      evalMetric: EVAL_METRICS.judgeScore,
      evalValue: lin(o.judge, 0.1 * jitter * seed),
      evalExtra: {
        [EVAL_METRICS.referenceOverlap]: lin(o.overlap ?? [0.2, 0.2], jitter * (seed % 2 ? 1 : -1)),
        [EVAL_METRICS.meanLength]: lin(o.length ?? [60, 60], seed),
        [EVAL_METRICS.judgeFallbackFrac]: () => o.evalFallback ?? 0,
        [JUDGE_COUNTERS.masterKeyScore]: () => o.masterKey ?? 0.5,
      },
    });
    const rows = rowsOf(records, { experiment: experiment, seed: seed });
    for (let step = 1; step <= 4; step++) {
      for (const [metric, value] of Object.entries(o.counters?.(seed, step) ?? {})) {
        rows.push({ source: "ours", experiment, seed, step, metric, value });
      }
    }
    return rows;
  });
}

const counters = (calls: number, ok: number, fallbacks: number, errors: number, retries: number) => ({
  [JUDGE_COUNTERS.calls]: calls,
  [JUDGE_COUNTERS.ok]: ok,
  [JUDGE_COUNTERS.fallbacks]: fallbacks,
  [JUDGE_COUNTERS.cacheHits]: calls - ok - fallbacks,
  [JUDGE_COUNTERS.errors]: errors,
  [JUDGE_COUNTERS.retries]: retries,
  [JUDGE_COUNTERS.fallbackFrac]: calls ? fallbacks / calls : 0,
});

Deno.test("verdicts: API breakdown is decided from the judge's own training counters; without a key it is inconclusive", () => {
  const failing = dialogue("dialogue_hard", 3, {
    judge: [4, 4.5],
    counters: (seed, step) => counters(16, 10 - ((seed + step) % 2), 6 + ((seed + step) % 2), 14, 8),
  });
  const v = find(studyVerdicts(tableFromRows(failing)), "dialogue hard suffers");
  assertEquals(v.outcome, "reproduced", { msg: v.line });
  has(v.line, "decided from the judge's own counters during training");
  has(v.line, "retries a failed call");
  has(v.line, "counted in judge/fallbacks");
  const healthy = dialogue("dialogue_soft", 3, {
    judge: [4, 4.5],
    counters: () => counters(16, 16, 0, 1, 1),
  });
  assertEquals(
    find(studyVerdicts(tableFromRows(healthy)), "dialogue soft suffers").outcome,
    "not reproduced",
  );
  const noKey = dialogue("dialogue_hard", 3, { judge: [4, 4.5], counters: () => counters(16, 0, 16, 0, 0) });
  const n = find(studyVerdicts(tableFromRows(noKey)), "dialogue hard suffers");
  assertEquals(n.outcome, "inconclusive");
  has(n.line, "never reached");
});

Deno.test("verdicts: the policy hacks the judge when the judge score rose but the reference overlap did not, or replies collapsed; audit and fallback only gate", () => {
  const hv = (rows: MetricRow[]) =>
    find(studyVerdicts(tableFromRows(rows)), "new: dialogue hard policy hacks");
  const hacked = hv(dialogue("dialogue_hard", 3, { judge: [4, 7], overlap: [0.25, 0.22] }));
  assertEquals(hacked.outcome, "reproduced", { msg: hacked.line });
  const collapsed = hv(
    dialogue("dialogue_hard", 3, { judge: [4, 7], overlap: [0.2, 0.3], length: [80, 20] }),
  );
  assertEquals(collapsed.outcome, "reproduced", { msg: collapsed.line });
  const honest = hv(dialogue("dialogue_hard", 3, { judge: [4, 7], overlap: [0.2, 0.3] }));
  assertEquals(honest.outcome, "not reproduced", { msg: honest.line });
  const fooled = hv(dialogue("dialogue_hard", 3, { judge: [4, 7], overlap: [0.25, 0.22], masterKey: 6 }));
  assertEquals(fooled.outcome, "inconclusive", { msg: fooled.line });
  has(fooled.line, "master-key audit");
  const fb = hv(dialogue("dialogue_hard", 3, { judge: [4, 7], overlap: [0.25, 0.22], evalFallback: 0.9 }));
  assertEquals(fb.outcome, "inconclusive", { msg: fb.line });
  has(fb.line, "90 % of the held-out judge scores came from the local fallback");
});

Deno.test("verdicts: a dialogue verdict whose held-out scores came mostly from the fallback is inconclusive; the dialogue control is dialogue_random", () => {
  const rows = [
    ...dialogue("dialogue_refprob", 3, { judge: [4, 6] }),
    ...dialogue("dialogue_random", 3, { judge: [4, 4.1] }),
  ];
  const ok = find(studyVerdicts(tableFromRows(rows)), "new: dialogue reference likelihood");
  assertEquals(ok.outcome, "reproduced", { msg: ok.line });
  has(ok.line, "beyond dialogue_random");
  const fb = [
    ...dialogue("dialogue_refprob", 3, { judge: [4, 6], evalFallback: 1 }),
    ...dialogue("dialogue_random", 3, { judge: [4, 4.1], evalFallback: 1 }),
  ];
  const v = find(studyVerdicts(tableFromRows(fb)), "new: dialogue reference likelihood");
  assertEquals(v.outcome, "inconclusive", { msg: v.line });
  const p = find(
    studyVerdicts(tableFromRows([
      ...dialogue("dialogue_perplexity", 3, { judge: [4, 4.05], evalFallback: 1 }),
      ...dialogue("dialogue_random", 3, { judge: [4, 4.1], evalFallback: 1 }),
    ])),
    "dialogue perplexity fails",
  );
  assertEquals(p.outcome, "inconclusive", { msg: p.line });
});

Deno.test("verdictNotes: the method, then each run left out once, then the checks not made", () => {
  const vs = studyVerdicts(tableFromRows(math("math_hard", gains([0.5, 0.4]))));
  const notes = verdictNotes(vs);
  assertEquals(notes[0], `Method: ${VERDICT_METHOD}`);
  assertEquals(notes.slice(1), [
    "Not checked: runs were given as a bare table: completion and options not checked",
  ]);
});

Deno.test("verdicts: a judge that fails its master-key audit gates the judge-scored verdicts (inconclusive), it does not leave runs out", () => {
  const rows = [
    ...dialogue("dialogue_refprob", 3, { judge: [4, 6], masterKey: 7 }),
    ...dialogue("dialogue_random", 3, { judge: [4, 4.1], masterKey: 7 }),
  ];
  const v = find(studyVerdicts(tableFromRows(rows)), "new: dialogue reference likelihood");
  assertEquals(v.outcome, "inconclusive", { msg: v.line });
  assertEquals(v.excluded, []);
  has(v.line, "master-key audit");
});
