import { assert, assertEquals } from "../util/assert.ts";
import { type MetricRow, tableFromRows } from "./table.ts";
import { studyVerdicts, type Verdict } from "./verdicts.ts";

/** Runs of one experiment: per seed, the held-out metric at step 0 and at the end, and a reward curve. */
function runs(
  experiment: string,
  perSeed: {
    before: number;
    after: number;
    metric?: string;
    reward?: number[];
    extra?: Record<string, number>;
  }[],
): MetricRow[] {
  const rows: MetricRow[] = [];
  perSeed.forEach((r, i) => {
    const seed = i + 1, metric = r.metric ?? "eval/accuracy";
    const base = { source: "ours" as const, experiment, seed };
    rows.push({ ...base, step: 0, metric, value: r.before }, { ...base, step: 20, metric, value: r.after });
    (r.reward ?? [0.1, 0.5, 0.9, 1.2]).forEach((value, step) =>
      rows.push({ ...base, step: step + 1, metric: "reward", value })
    );
    for (const [m, value] of Object.entries(r.extra ?? {})) rows.push({ ...base, step: 1, metric: m, value });
  });
  return rows;
}
const gains = (xs: number[]) => xs.map((g) => ({ before: 0.1, after: 0.1 + g }));
const assertStringIncludes = (s: string, sub: string) => assert(s.includes(sub), `"${sub}" not in: ${s}`);
const find = (vs: Verdict[], s: string) => vs.find((v) => v.expectation.startsWith(s))!;

Deno.test("verdicts: math hard works when its gain beats zero and both controls", () => {
  const table = tableFromRows([
    ...runs("math_hard", gains([0.45, 0.5, 0.55])),
    ...runs("math_format_only", gains([0.2, 0.22, 0.25])),
    ...runs("math_random", gains([0.0, 0.02, -0.01])),
  ]);
  const v = find(studyVerdicts(table), "math hard works");
  assertEquals(v.outcome, "reproduced");
  assertEquals(v.claims.map((c) => c.status), ["holds", "holds", "holds"]);
  assertStringIncludes(
    v.line,
    "math_hard strict-accuracy gain +50.0 points (95% CI +45.0 to +55.0, 3 seeds)",
  );
  assertStringIncludes(v.line, "beyond math_format_only +27.7 points");
});

Deno.test("verdicts: a gain no larger than the format-only control is not attributed", () => {
  const table = tableFromRows([
    ...runs("math_hard", gains([0.3, 0.35, 0.4])),
    ...runs("math_format_only", gains([0.5, 0.55, 0.6])),
    ...runs("math_random", gains([0, 0, 0.01])),
  ]);
  const v = find(studyVerdicts(table), "math hard works");
  assertEquals(v.outcome, "not reproduced");
  assertEquals(v.claims[1].status, "contradicted");
});

Deno.test("verdicts: one seed or missing runs are inconclusive, never reproduced", () => {
  const vs = studyVerdicts(tableFromRows(runs("math_hard", gains([0.5]))));
  assertEquals(find(vs, "math hard works").outcome, "inconclusive");
  assertStringIncludes(find(vs, "math hard works").line, "(1 seed, no interval)");
  assertStringIncludes(find(vs, "math hard works").line, "beyond math_random: no runs");
  assert(vs.every((v) => v.outcome === "inconclusive"), vs.map((v) => v.line).join("\n"));
  assertEquals(vs.length, 8);
});

Deno.test("verdicts: math perplexity fails when it gains less than δ beyond format-only and less than math_hard", () => {
  const table = tableFromRows([
    ...runs("math_hard", gains([0.45, 0.5, 0.55])),
    ...runs("math_format_only", gains([0.2, 0.22, 0.25])),
    ...runs("math_perplexity", gains([0.2, 0.21, 0.23])),
  ]);
  const v = find(studyVerdicts(table), "math perplexity fails");
  assertEquals(v.outcome, "reproduced", v.line);
  const beating = tableFromRows([
    ...runs("math_hard", gains([0.1, 0.12, 0.11])),
    ...runs("math_format_only", gains([0.0, 0.01, 0.0])),
    ...runs("math_perplexity", gains([0.3, 0.32, 0.35])),
  ]);
  assertEquals(find(studyVerdicts(beating), "math perplexity fails").outcome, "not reproduced");
});

Deno.test("verdicts: math soft's instability is its reward's step-to-step noise against math_hard's", () => {
  const smooth = [0.1, 0.3, 0.5, 0.7, 0.9, 1.1];
  const noisy = [0.1, 1.5, 0.2, 1.8, 0.1, 1.9];
  const table = tableFromRows([
    ...runs("math_hard", gains([0.4, 0.45, 0.5]).map((r) => ({ ...r, reward: smooth }))),
    ...runs("math_soft", gains([0.2, 0.25, 0.3]).map((r) => ({ ...r, reward: noisy }))),
  ]);
  const v = find(studyVerdicts(table), "math soft learns");
  assertEquals(v.outcome, "reproduced", v.line);
});

Deno.test("verdicts: judge breakdown needs a judge that was reached; fallback-only runs are inconclusive with the reason", () => {
  const dlg = (frac: number, mk: number) =>
    [1, 2, 3].map(() => ({
      before: 5,
      after: 5.2,
      metric: "eval/judge_score",
      extra: { "judge/fallback_frac": frac, "judge/master_key_score": mk },
    }));
  const none = find(studyVerdicts(tableFromRows(runs("dialogue_hard", dlg(1, 0)))), "dialogue hard");
  assertEquals(none.outcome, "inconclusive");
  assertStringIncludes(none.line, "never reached");
  const fooled = find(studyVerdicts(tableFromRows(runs("dialogue_hard", dlg(0, 8)))), "dialogue hard");
  assertEquals(fooled.outcome, "reproduced", fooled.line);
  const fine = find(studyVerdicts(tableFromRows(runs("dialogue_soft", dlg(0, 0.5)))), "dialogue soft");
  assertEquals(fine.outcome, "not reproduced", fine.line);
});
