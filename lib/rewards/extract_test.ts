import { extractAnswer, extractNumber, lastNumber, parseNumber } from "./extract.ts";
import { assertEquals } from "../util/assert.ts";

Deno.test("parseNumber: commas, currency, units, decimals, negatives, trailing period, fractions", () => {
  const cases: [string, number | null][] = [
    ["42", 42],
    ["1,234", 1234],
    ["$18.00", 18],
    ["-3", -3],
    ["−3", -3],
    ["-$3", -3],
    ["$-3", -3],
    ["18 dollars", 18],
    ["5 cm", 5],
    ["42.", 42],
    ["3.5", 3.5],
    [".5", 0.5],
    ["50%", 50],
    ["3/4", 0.75],
    ["1 1/2", 1.5],
    ["1,234,567.5", 1234567.5],
    ["**18**", 18],
    ["+7", 7],
    ["  9  ", 9],
    ["none", null],
    ["", null],
    ["x = 5", null],
    ["5 and 6", null],
    ["1/0", null],
    ["five", null],
  ];
  for (const [s, want] of cases) {
    assertEquals(parseNumber(s), want, { msg: `parseNumber(${JSON.stringify(s)})` });
  }
});

Deno.test("extractAnswer lenient: last <answer>, unclosed answer, #### N, last number, none", () => {
  const lenient = (t: string) => extractAnswer(t, { rule: "lenient" });
  assertEquals(lenient("<answer>1</answer> then <answer> 2 </answer>"), "2");
  assertEquals(lenient("<reasoning>x</reasoning>\n<answer>\n18\n</answer>\n"), "18");
  assertEquals(lenient("<answer>17"), "17");
  assertEquals(lenient("<answer></answer> 5"), null);
  assertEquals(lenient("She makes 9 * 2 = $<<9*2=18>>18.\n#### 18"), "18");
  assertEquals(lenient("#### 1,080\nextra"), "1,080");
  assertEquals(lenient("so 5 - 3 = 2, and then 7 apples."), "7");
  assertEquals(lenient("she had -4 degrees"), "-4");
  assertEquals(lenient("no numbers here"), null);
  assertEquals(lenient(""), null);
});

Deno.test("extractAnswer strict (the default): only the last closed <answer>…</answer> pair", () => {
  assertEquals(extractAnswer("<answer>1</answer> then <answer> 2 </answer>"), "2");
  assertEquals(extractAnswer("<reasoning>x</reasoning>\n<answer>\n18\n</answer>\n"), "18");
  assertEquals(extractAnswer("<answer>1</answer> then <answer>2"), "1", {
    msg: "an unclosed last tag is not a slot",
  });
  assertEquals(extractAnswer("<answer>17"), null);
  assertEquals(extractAnswer("<answer></answer> 5"), null);
  assertEquals(extractAnswer("5 + 3 = 8\n#### 8"), null);
  assertEquals(extractAnswer("5 + 3 = 8\nThe answer is 8."), null);
  assertEquals(extractAnswer("8"), null);
  assertEquals(extractAnswer("8 </answer>"), null);
});

Deno.test("extractNumber / lastNumber: free text inside the answer, hyphens are not signs", () => {
  assertEquals(extractNumber("<answer>The answer is 18 dollars.</answer>"), 18);
  assertEquals(extractNumber("<answer>$1,234.50</answer>"), 1234.5);
  assertEquals(extractNumber("<answer>no idea</answer>"), null);
  assertEquals(extractNumber("Total: 2,000 + 5-3 = 2,002.", { rule: "lenient" }), 2002);
  assertEquals(extractNumber("Total: 2,000 + 5-3 = 2,002."), null, { msg: "strict: no answer slot" });
  assertEquals(lastNumber("5-3"), 3);
  assertEquals(lastNumber("from -3 to -10"), -10);
  assertEquals(lastNumber("item1 and x2"), null);
  assertEquals(lastNumber("1,2,3"), 3);
  assertEquals(extractNumber("18 dollars", { rule: "lenient" }), 18);
});
