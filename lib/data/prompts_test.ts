import { dialogueMessages, MATH_SYSTEM_PROMPT, mathMessages } from "./prompts.ts";
import { assertEquals } from "../util/assert.ts";

Deno.test("mathMessages: seed-study system prompt then the question", () => {
  assertEquals(
    MATH_SYSTEM_PROMPT,
    "Respond in the following format:\n<reasoning>\n...\n</reasoning>\n<answer>\n...\n</answer>",
  );
  assertEquals(mathMessages("What is 2 + 2?"), [
    { role: "system", content: MATH_SYSTEM_PROMPT },
    { role: "user", content: "What is 2 + 2?" },
  ]);
  assertEquals(mathMessages("q", { system: "S" })[0], { role: "system", content: "S" });
});

Deno.test("dialogueMessages: instruction alone, or instruction + blank line + input; optional system", () => {
  assertEquals(dialogueMessages({ instruction: "Say hi.", input: "" }), [{
    role: "user",
    content: "Say hi.",
  }]);
  assertEquals(dialogueMessages({ instruction: "Sort these.", input: " b, a " }), [
    { role: "user", content: "Sort these.\n\nb, a" },
  ]);
  assertEquals(dialogueMessages({ instruction: "X" }, { system: "Be brief." }), [
    { role: "system", content: "Be brief." },
    { role: "user", content: "X" },
  ]);
});
