import { join } from "node:path";
import { CausalLM, initLora, saveLora } from "../model/mod.ts";
import { writeTinyChatModel } from "../rewards/testing.ts";
import { generateDialogues, generateMathProblems } from "../data/mod.ts";
import type { RewardJudge } from "../rewards/mod.ts";
import { Rng } from "../util/mod.ts";
import { assert, assertEquals } from "../util/assert.ts";
import {
  compareModels,
  comparisonLines,
  comparisonTable,
  degenerate,
  READABLE_CELL,
  readableTable,
} from "./compare.ts";

const ROOT = Deno.makeTempDirSync({ prefix: "eval-compare-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(ROOT, { recursive: true }));

Deno.test("degenerate: empty, repeated n-grams or characters, missing answer tag", () => {
  assertEquals(degenerate("  \n "), ["empty"]);
  assertEquals(degenerate("<reasoning>2 + 2 = 4</reasoning>\n<answer>4</answer>", { answerTag: true }), []);
  assertEquals(degenerate("the cat sat on the mat and the cat sat on the mat and the cat sat"), [
    "repetition",
  ]);
  assertEquals(degenerate("TheTheTheTheTheTheThe is"), ["repetition"]);
  assertEquals(degenerate("111111111111112 = 12"), ["repetition"]);
  assertEquals(degenerate("Paris is the capital of France.", { answerTag: true }), ["no_answer_tag"]);
  assertEquals(degenerate("<answer>4", { answerTag: true }), ["no_answer_tag"], {
    msg: "an unclosed tag does not count",
  });
  assertEquals(degenerate("A word that rhymes with moon is spoon."), []);
});

Deno.test("compareModels: base model and adapters side by side; a mismatched adapter is reported, not fatal", async () => {
  const modelDir = join(ROOT, "model");
  await writeTinyChatModel(modelDir);
  const model = await CausalLM.load(modelDir, { device: "cpu", threads: 1 });
  try {
    const lora = initLora(model.config, { r: 2, alpha: 4, targets: ["q_proj", "v_proj"] }, { seed: 1 });
    const rng = new Rng(5);
    for (const t of lora.tensors.values()) {
      for (let i = 0; i < t.data.length; i++) t.data[i] = rng.normal() * 0.5;
    }
    await saveLora(join(ROOT, "adapters", "trained"), lora);
    const otherDir = join(ROOT, "other-model");
    await writeTinyChatModel(otherDir, { hidden: 8 });
    const other = await CausalLM.load(otherDir, { device: "cpu", threads: 1, tokenizer: false });
    await saveLora(
      join(ROOT, "adapters", "other"),
      initLora(other.config, { r: 2, alpha: 4, targets: ["q_proj"] }),
    );
    const sets = {
      problems: generateMathProblems(3, { seed: 20_250_003 }),
      prompts: generateDialogues(2, { seed: 20_250_004 }),
    };
    const adapters = [
      { name: "trained", dir: join(ROOT, "adapters", "trained"), experiment: "math_hard" },
      { name: "other", dir: join(ROOT, "adapters", "other") },
    ];
    const logs: string[] = [];
    const judge: RewardJudge = {
      score: (items) =>
        Promise.resolve(items.map((it) => ({ score: it.response.length % 11, source: "judge" }))),
    };
    const rows = await compareModels(model, adapters, {
      ...sets,
      judge,
      maxNewTokens: 6,
      log: (l) => logs.push(l),
    });
    assertEquals(rows.map((r) => [r.name, r.experiment, r.adapter !== null, !!r.error]), [
      ["base model", null, false, false],
      ["trained", "math_hard", true, false],
      ["other", null, true, true],
    ]);
    assert(rows[2].error!.includes("adapter trained for another model"), rows[2].error);
    assert(logs.some((l) => l.startsWith("[compare] other: skipped")), logs.join("\n"));
    for (const r of rows.slice(0, 2)) {
      assertEquals([r.math!.n, r.math!.answers.length, r.dialogue!.n, r.dialogue!.metric], [
        3,
        3,
        2,
        "judge",
      ]);
      assertEquals(r.dialogue!.sources.judge, 2);
      const mean = r.dialogue!.answers.reduce((a, x) => a + x.score, 0) / 2;
      assertEquals(r.dialogue!.score, mean);
      assert(
        r.math!.answers.every((a) =>
          a.tokens <= 6 &&
          a.flags.includes("no_answer_tag") === !/<answer>[\s\S]*<\/answer>/.test(a.completion)
        ),
      );
      assertEquals(
        r.math!.flagged.no_answer_tag,
        r.math!.answers.filter((a) => a.flags.includes("no_answer_tag")).length,
      );
    }
    assert(
      rows[0].math!.answers.some((a, i) => a.completion !== rows[1].math!.answers[i].completion) ||
        rows[0].dialogue!.answers.some((a, i) => a.response !== rows[1].dialogue!.answers[i].response),
      "the adapter changes the answers",
    );
    const html = comparisonTable(rows, { examples: 2 }).replaceAll(
      ` style="${READABLE_CELL};min-width:8em"`,
      "",
    );
    assert(html.includes("<td>trained</td><td>math_hard</td>"), "summary row per model");
    assert(
      html.includes("<th>problem</th><th>gold</th><th>base model</th><th>trained</th>"),
      "side-by-side columns",
    );
    assert(html.includes("adapter trained for another model"), "the error is shown");
    const lines = comparisonLines(rows);
    assert(
      /^base model: math \d\/3 \(\d+\.\d%\), dialogue judge score \d+\.\d\d, mean tokens/.test(lines[0]),
      lines[0],
    );
    assert(lines[2].startsWith("other: not evaluated (") && lines[2].includes("another model"), lines[2]);

    const ppl = await compareModels(model, [], { ...sets, maxNewTokens: 6, log: () => {} });
    assertEquals(ppl.length, 1);
    const d = ppl[0].dialogue!;
    assertEquals([d.metric, d.sources.perplexity + d.sources.nonFinite], ["perplexity", 2]);
    assert(
      d.answers.every((a) => a.source === "perplexity" && (a.score > 1 || a.score === Infinity)),
      "perplexities",
    );
    assert(comparisonTable(ppl).includes("median perplexity under the base model"));
    await other.release();
  } finally {
    await model.release();
  }
});

Deno.test("readableTable: Testing tables left-aligned, broken only between words, numbers right-aligned, scrolls when wide", () => {
  const html = readableTable(
    '<table><tr><th>model</th><td>long answer text</td><td class="num">0.5</td></tr></table>',
  );
  assert(html.startsWith('<div class="grpo-readable" style="overflow-x:auto;text-align:left">'));
  assert(html.includes(`<th style="${READABLE_CELL};min-width:8em">model</th>`));
  assert(html.includes(`<td style="${READABLE_CELL};min-width:8em">long answer text</td>`));
  assert(READABLE_CELL.includes("text-align:left") && READABLE_CELL.includes("word-break:normal"));
  assert(!READABLE_CELL.includes("break-all") && !READABLE_CELL.includes("anywhere"));
  assert(
    html.includes('<td class="num" style="text-align:right;vertical-align:top;white-space:nowrap">0.5</td>'),
  );
});
