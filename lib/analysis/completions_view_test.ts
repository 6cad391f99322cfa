import { assert, assertEquals } from "../util/assert.ts";
import { completionsViewer, evalViewerItems, filterItems, trainViewerItems } from "./completions_view.ts";
import type { RunEval } from "./paired.ts";

const run = (experiment: string, right: boolean[]): RunEval => ({
  source: "ours",
  experiment,
  seed: 1,
  records: [0, 4].flatMap((step) =>
    right.map((correct, id) => ({
      step,
      id,
      prompt: `p${id}`,
      completion: `a${id}`,
      gold: "1",
      correct: step === 0 ? false : correct,
    }))
  ),
});

Deno.test("evalViewerItems marks the held-out problems the runs got differently at their last evaluation", () => {
  const items = evalViewerItems([
    run("math_hard", [true, true, false]),
    run("math_soft", [true, false, false]),
  ]);
  assertEquals(items.length, 12);
  const dis = filterItems(items, { disagree: true });
  assertEquals(dis.map((x) => [x.run, x.prompt, x.correct]), [["math_hard seed 1", "p1", true], [
    "math_soft seed 1",
    "p1",
    false,
  ]]);
  assertEquals(filterItems(items, { step: 4, correct: true }).length, 3);
  assertEquals(filterItems(items, { run: "math_soft seed 1", step: 0 }).length, 3);
});

Deno.test("filterItems sorts by reward and by problem; train items carry the gold answer", () => {
  const t = trainViewerItems("math_hard seed 1", [
    { step: 1, prompt: "b", completion: "x", reward: 0.5, gold: "4" },
    { step: 2, prompt: "a", completion: "y", reward: 2 },
    { step: 1, prompt: "c", completion: "z", reward: 1 },
  ]);
  assertEquals(t[0].gold, "4");
  assertEquals(filterItems(t, { sort: "reward" }).map((x) => x.reward), [2, 1, 0.5]);
  assertEquals(filterItems(t, { sort: "problem" }).map((x) => x.prompt), ["a", "b", "c"]);
  assertEquals(filterItems(t).map((x) => x.step), [1, 1, 2]);
  assertEquals(filterItems(t, { minReward: 1 }).length, 2);
});

Deno.test("completionsViewer: controls for run, step, correctness, reward, disagreements; escaped, left-aligned cells", () => {
  const items = evalViewerItems([run("math_hard", [true, true]), run("math_soft", [true, false])]);
  items[0].completion = "<b>x</b>";
  const html = completionsViewer(items, { title: "Held-out completions" });
  for (const f of ["run", "step", "correct", "min", "disagree", "sort"]) {
    assert(html.includes(`data-f="${f}"`), f);
  }
  assert(html.includes("only where the models disagree"));
  assertEquals((html.match(/<tr data-i=/g) ?? []).length, items.length);
  assertEquals((html.match(/data-disagree="1"/g) ?? []).length, 2);
  assert(html.includes("&lt;b&gt;x&lt;/b&gt;") && !html.includes("<b>x</b>"));
  assert(html.includes("text-align:left") && html.includes("word-break:normal"));
  const capped = completionsViewer(items, { maxItems: 3 });
  assert(capped.includes(`${items.length - 3} more not shown`));
});
