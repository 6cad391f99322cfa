import { formatMathTarget, generateDialogues, generateMathProblems, splitHeldOut } from "./generated.ts";
import { DIALOGUE_FAMILIES } from "./generated_dialogues.ts";
import { UserError } from "../util/mod.ts";
import { assert, assertEquals, assertThrows } from "../util/assert.ts";

/** Replays the `a op b = c` lines and returns the final value (throws on any wrong line). */
function replay(solution: string): number {
  let x = NaN;
  for (const line of solution.split("\n")) {
    const m = line.match(/^(\d+) ([-+*/]) (\d+) = (\d+)$/);
    assert(m, `bad step line "${line}"`);
    const a = +m[1], b = +m[3];
    const y = m[2] === "+" ? a + b : m[2] === "-" ? a - b : m[2] === "*" ? a * b : a / b;
    assertEquals(y, +m[4], { msg: `wrong arithmetic "${line}"` });
    assert(Number.isInteger(y) && y >= 0, `non-integer or negative "${line}"`);
    x = y;
  }
  return x;
}

Deno.test("generateMathProblems: deterministic by seed, different seeds differ", () => {
  const a = generateMathProblems(50, { seed: 7 });
  assertEquals(a, generateMathProblems(50, { seed: 7 }));
  assert(JSON.stringify(a) !== JSON.stringify(generateMathProblems(50, { seed: 8 })));
});

Deno.test("generateMathProblems: every step is correct arithmetic and ends at the answer", () => {
  const rows = generateMathProblems(2000, { seed: 1 });
  const steps = new Set<number>();
  const ops = new Set<string>();
  for (const ex of rows) {
    assertEquals(String(replay(ex.solution!)), ex.answer);
    const lines = ex.solution!.split("\n");
    steps.add(lines.length);
    for (const l of lines) ops.add(l.split(" ")[1]);
    assert(ex.question.endsWith("?"), ex.question);
    assert(+ex.answer <= 200, `answer ${ex.answer} over maxResult`);
  }
  assertEquals([...steps].sort(), [1, 2, 3]);
  assertEquals([...ops].sort(), ["*", "+", "-", "/"]);
  assert(new Set(rows.map((r) => r.question)).size > 1900, "problems should rarely repeat");
  const themes = new Set(
    rows.map((r) => r.question.match(/\b(apples|marbles|dollars|\$|pages|minutes|passengers)\b/)?.[1]),
  );
  assert(themes.size >= 6, `too few themes: ${[...themes]}`);
});

Deno.test("generateMathProblems: difficulty options are honoured and validated", () => {
  const hard = generateMathProblems(300, { seed: 2, minSteps: 3, maxSteps: 3, maxValue: 50, maxResult: 500 });
  for (const ex of hard) {
    assertEquals(ex.solution!.split("\n").length, 3);
    assert(+ex.answer <= 500);
  }
  const easy = generateMathProblems(300, { seed: 2, maxSteps: 1, maxValue: 5, maxResult: 30 });
  for (const ex of easy) {
    assertEquals(ex.solution!.split("\n").length, 1);
    for (const n of ex.solution!.match(/\d+/g)!.slice(0, 2)) assert(+n <= 30);
  }
  assertThrows(() => generateMathProblems(5, { seed: 1, minSteps: 0 }), {
    cls: UserError,
    includes: "minSteps",
  });
  assertThrows(() => generateMathProblems(5, { seed: 1, minSteps: 3, maxSteps: 2 }), {
    cls: UserError,
    includes: "maxSteps",
  });
  assertThrows(() => generateMathProblems(-1, { seed: 1 }), { cls: UserError, includes: "n must be" });
  assertEquals(generateMathProblems(0, { seed: 1 }), []);
});

Deno.test("formatMathTarget: exact training completion, GSM8K calculator marks removed", () => {
  const ex = { question: "q", answer: "8", solution: "5 + 3 = 8" };
  assertEquals(formatMathTarget(ex), "<reasoning>\n5 + 3 = 8\n</reasoning>\n<answer>8</answer>");
  assertEquals(
    formatMathTarget(ex, { style: "strict" }),
    "<reasoning>\n5 + 3 = 8\n</reasoning>\n<answer>\n8\n</answer>\n",
  );
  const gsm = { question: "q", answer: "18", solution: "She makes 9 * 2 = $<<9*2=18>>18.\n\nDone." };
  assertEquals(
    formatMathTarget(gsm),
    "<reasoning>\nShe makes 9 * 2 = $18.\nDone.\n</reasoning>\n<answer>18</answer>",
  );
});

Deno.test("generateDialogues: deterministic, ≥ 15 families all used, short non-empty responses", () => {
  assert(DIALOGUE_FAMILIES.length >= 15);
  const rows = generateDialogues(3000, { seed: 4 });
  assertEquals(rows, generateDialogues(3000, { seed: 4 }));
  const instructionsShapes = new Set(rows.map((r) => r.instruction.split(" ").slice(0, 3).join(" ")));
  assert(instructionsShapes.size >= 15, `only ${instructionsShapes.size} instruction shapes`);
  for (const r of rows) {
    assert(r.instruction.length > 0 && r.output.length > 0);
    const sentences = r.output.split(/[.!?](\s|$)/).filter((s) => s.trim().length > 1);
    assert(sentences.length <= 2, `more than two sentences: ${r.output}`);
  }
  assert(rows.some((r) => r.input !== "") && rows.some((r) => r.input === ""));
  const syn = rows.find((r) => r.instruction === "Give a synonym for happy.");
  assertEquals(syn?.output, "A synonym for happy is glad.");
  const sort = rows.find((r) => r.instruction.startsWith("Sort"))!;
  assertEquals(sort.output.replace(/\.$/, "").split(", "), sort.input.split(", ").sort());
});

Deno.test("splitHeldOut: same seed same split, counts and fractions, order kept, validated", () => {
  const rows = Array.from({ length: 100 }, (_, i) => i);
  const a = splitHeldOut(rows, { seed: 3, heldOut: 10 });
  assertEquals(a, splitHeldOut(rows, { seed: 3, heldOut: 10 }));
  assertEquals(a.heldOut.length, 10);
  assertEquals([...a.train, ...a.heldOut].sort((x, y) => x - y), rows);
  assertEquals(a.train, [...a.train].sort((x, y) => x - y));
  assert(JSON.stringify(a.heldOut) !== JSON.stringify(splitHeldOut(rows, { seed: 4, heldOut: 10 }).heldOut));
  assert(JSON.stringify(a.heldOut) !== JSON.stringify(rows.slice(0, 10)), "split should be shuffled");
  assertEquals(splitHeldOut(rows, { seed: 3, heldOut: 0.25 }).heldOut.length, 25);
  assertEquals(splitHeldOut(rows, { seed: 3, heldOut: 0 }).train.length, 100);
  assertThrows(() => splitHeldOut(rows, { seed: 3, heldOut: 101 }), { cls: UserError, includes: "101" });
  assertThrows(() => splitHeldOut(rows, { seed: 3, heldOut: 1.5 }), { cls: UserError, includes: "1.5" });
  assertThrows(() => splitHeldOut(rows, { seed: 3, heldOut: -1 }), { cls: UserError, includes: "-1" });
});
