import { numberFlag, parseFlags } from "./cli.ts";
import { assertEquals, assertThrows } from "./assert.ts";
import { UserError } from "./errors.ts";

Deno.test("parseFlags: values, defaults, and a one-line error for an unknown flag", () => {
  const spec = { n: { type: "string", default: "3" }, v: { type: "boolean" } } as const;
  assertEquals(parseFlags(["--n", "5", "--v"], spec).values, { n: "5", v: true });
  assertEquals(parseFlags([], spec).values.n, "3");
  assertThrows(() => parseFlags(["--nope"], spec), UserError, "--nope");
  assertThrows(() => parseFlags(["extra"], spec), UserError);
  assertEquals(parseFlags(["x"], spec, { positionals: true }).positionals, ["x"]);
});

Deno.test("numberFlag names the flag and the bad value", () => {
  assertEquals(numberFlag("2.5", "lr"), 2.5);
  assertThrows(() => numberFlag("abc", "lr"), UserError, '--lr must be a non-negative number, got "abc"');
  assertThrows(() => numberFlag("-1", "n"), UserError, "--n");
});
