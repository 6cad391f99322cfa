import { fileURLToPath } from "node:url";
import { isCorrect, mathHard, mathHardLenient, mathSoft, normalizeAnswer } from "./math.ts";
import { extractAnswer, parseNumber } from "./extract.ts";
import { UserError } from "../util/mod.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../util/assert.ts";

const TEST = fileURLToPath(new URL("../../../shared/data/gsm8k/test.jsonl", import.meta.url));
const exists = (() => {
  try {
    return Deno.statSync(TEST).isFile;
  } catch {
    return false;
  }
})();
if (!exists) console.warn(`skipping real GSM8K reward tests: ${TEST} not found`);

const ctx = (completions: string[], answers: string[]) => ({
  prompts: completions.map(() => "p"),
  completions,
  answers,
});

Deno.test({
  name: "mathHard on the first 200 real GSM8K test rows: gold → 2, wrong → 0; #### extraction works",
  ignore: !exists,
  fn: () => {
    const rows = Deno.readTextFileSync(TEST).trim().split("\n").slice(0, 200).map((l) => JSON.parse(l));
    assertEquals(rows.length, 200);
    const golds = rows.map((r) => r.answer.split("####").at(-1).trim().replace(/,/g, ""));
    const reasoning = rows.map((r) => r.answer.split("####")[0].trim());
    const right = rows.map((_, i) => `<reasoning>${reasoning[i]}</reasoning>\n<answer>${golds[i]}</answer>`);
    const wrong = rows.map((_, i) =>
      `<reasoning>${reasoning[i]}</reasoning>\n<answer>${Number(golds[i]) + 1}</answer>`
    );
    assertEquals(mathHard(ctx(right, golds)), golds.map(() => 2));
    assertEquals(mathHard(ctx(wrong, golds)), golds.map(() => 0));
    for (let i = 0; i < rows.length; i++) {
      const lenient = extractAnswer(rows[i].answer, { rule: "lenient" })!;
      assertEquals(parseNumber(lenient), Number(golds[i]), { msg: `row ${i + 1}` });
    }
    // the GSM8K solutions end in `#### N`, with no answer slot: right only under the lenient reading
    assertEquals(mathHardLenient(ctx(rows.map((r) => r.answer), golds)), golds.map(() => 2));
    assertEquals(mathHard(ctx(rows.map((r) => r.answer), golds)), golds.map(() => 0));
  },
});

Deno.test("mathHard: normalization and numeric tolerance edge cases", () => {
  const cases: [string, string, number][] = [
    ["<answer>1,234</answer>", "1234", 2],
    ["<answer>$18.00</answer>", "18", 2],
    ["<answer>-3</answer>", "-3", 2],
    ["<answer>18 dollars</answer>", "18", 2],
    ["<answer>18.005</answer>", "18", 2],
    ["<answer>18.02</answer>", "18", 0],
    ["<answer>no number</answer>", "18", 0],
    ["nothing at all", "18", 0],
    ["<answer>3</answer>", "-3", 0],
    ["The total is 42.", "42", 0],
    ["<answer>42", "42", 0],
    ["<answer>The answer is 7.</answer>", "7", 2],
    ["<answer>0.5</answer>", "1/2", 2],
  ];
  for (const [c, g, want] of cases) assertEquals(mathHard(ctx([c], [g]))[0], want, { msg: `${c} vs ${g}` });
  assertEquals(normalizeAnswer(" $1,234. "), "1234");
  const lenient: [string, string, number][] = [
    ["The total is 42.", "42", 2],
    ["<answer>42", "42", 2],
    ["5 + 3 = 8\n#### 8", "8", 2],
    ["5 + 3 = 8\nThe answer is 9.", "8", 0],
    ["<answer>18.02</answer>", "18", 0],
  ];
  for (const [c, g, want] of lenient) {
    assertEquals(mathHardLenient(ctx([c], [g]))[0], want, { msg: `lenient ${c}` });
  }
  assert(isCorrect("The answer is 7.", "7", { rule: "lenient" }) && !isCorrect("The answer is 7.", "7"));
  assert(isCorrect("<answer>Paris</answer>", "paris"), "non-numeric gold compares as a string");
});

Deno.test("mathSoft: relative error, gold 0 uses absolute error, no answer → 0", () => {
  const s = (c: string, g: string) => mathSoft(ctx([c], [g]))[0];
  assertEquals(s("<answer>10</answer>", "10"), 2);
  assertAlmostEquals(s("<answer>9</answer>", "10"), 1.8);
  assertAlmostEquals(s("<answer>15</answer>", "10"), 1.0);
  assertEquals(s("<answer>100</answer>", "10"), 0);
  assertEquals(s("<answer>-10</answer>", "10"), 0);
  assertAlmostEquals(s("<answer>0.25</answer>", "0"), 1.5);
  assertEquals(s("<answer>3</answer>", "0"), 0);
  assertEquals(s("<answer>0</answer>", "0"), 2);
  assertEquals(s("<answer>none</answer>", "5"), 0);
  assertEquals(s("9 + 1 = 10\nThe answer is 10.", "10"), 0, { msg: "strict: no answer slot" });
  assertEquals(s("<answer>10", "10"), 0, { msg: "strict: unclosed slot" });
  assertThrows(() => s("<answer>1</answer>", "abc"), { cls: UserError, includes: `"abc"` });
});

Deno.test("math rewards: missing or mismatched answers → UserError", () => {
  assertThrows(() => mathHard({ prompts: ["p"], completions: ["c"] }), {
    cls: UserError,
    includes: "ctx.answers",
  });
  assertThrows(() => mathSoft({ prompts: ["p"], completions: ["c"], answers: ["1", "2"] }), {
    cls: UserError,
    includes: "2 answers",
  });
  assertThrows(() => mathHard({ prompts: [], completions: ["c"], answers: ["1"] }), {
    cls: UserError,
    includes: "0 prompts",
  });
});
