import { formatReward, softFormatReward, strictFormatReward, xmlCount, xmlCountReward } from "./format.ts";
import { formatMathTarget } from "../data/mod.ts";
import { assertAlmostEquals, assertEquals } from "../util/assert.ts";

const run = (f: typeof formatReward, completions: string[]) =>
  f({ prompts: completions.map(() => ""), completions });
const STRICT_OK = "<reasoning>\n5 + 3 = 8\nso 8\n</reasoning>\n<answer>\n8\n</answer>\n";

Deno.test("formatReward: 0.25 per closed pair, max 0.5", () => {
  assertEquals(
    run(formatReward, [
      "<reasoning>r</reasoning><answer>8</answer>",
      "<reasoning>r</reasoning> 8",
      "<answer>8</answer>",
      "<reasoning>r <answer>8",
      "</answer>8<answer>",
      "plain 8",
    ]),
    [0.5, 0.25, 0.25, 0, 0, 0],
  );
  assertEquals(run(formatReward, [formatMathTarget({ question: "", answer: "8", solution: "5 + 3 = 8" })]), [
    0.5,
  ]);
});

Deno.test("strictFormatReward: the whole completion must match the TRL/Unsloth layout", () => {
  assertEquals(
    run(strictFormatReward, [
      STRICT_OK,
      STRICT_OK.slice(0, -1),
      STRICT_OK + "extra",
      "<reasoning>\nr\n</reasoning>\n<answer>8</answer>\n",
      " " + STRICT_OK,
    ]),
    [0.5, 0, 0, 0, 0],
  );
  assertEquals(
    run(strictFormatReward, [
      formatMathTarget({ question: "", answer: "8", solution: "1 + 7 = 8" }, { style: "strict" }),
    ]),
    [0.5],
  );
});

Deno.test("softFormatReward: reasoning then answer anywhere, across lines", () => {
  assertEquals(
    run(softFormatReward, [
      STRICT_OK,
      "pre <reasoning>a\nb</reasoning>  \n <answer>8</answer> post",
      "<answer>8</answer><reasoning>r</reasoning>",
      "<reasoning>r</reasoning> text <answer>8</answer>",
    ]),
    [0.5, 0.5, 0, 0],
  );
});

Deno.test("xmlCountReward: Unsloth count_xml including the trailing-text penalty", () => {
  assertEquals(xmlCount(STRICT_OK), 0.5);
  assertAlmostEquals(xmlCount(STRICT_OK + "abc"), 0.5 - 0.003 - 0.003, { tol: 1e-12 });
  assertAlmostEquals(xmlCount("<reasoning>\nr\n</reasoning>\n<answer>\n8\n</answer>"), 0.454, {
    tol: // Unsloth's Python count_xml gives 0.454: with no final newline the whole text is penalized
      1e-12,
  });
  assertEquals(xmlCount("<reasoning>\nr\n</reasoning>\n"), 0.25);
  assertEquals(xmlCount("<reasoning>\n<reasoning>\n"), 0);
  assertEquals(xmlCount("plain"), 0);
  assertAlmostEquals(xmlCount(STRICT_OK + "é"), 0.5 - 0.002, { tol: 1e-12 });
  assertEquals(run(xmlCountReward, [STRICT_OK, "x"]), [0.5, 0]);
});
