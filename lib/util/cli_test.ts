import { numberFlag, parseFlags, parseJsonOrString, parseKeyValue, parseKeyValues } from "./cli.ts";
import { assertEquals, assertThrows } from "./assert.ts";
import { UserError } from "./errors.ts";

Deno.test("parseFlags: values, defaults, and a one-line error for an unknown flag", () => {
  const spec = { n: { type: "string", default: "3" }, v: { type: "boolean" } } as const;
  assertEquals(parseFlags(["--n", "5", "--v"], spec).values, { n: "5", v: true });
  assertEquals(parseFlags([], spec).values.n, "3");
  assertThrows(() => parseFlags(["--nope"], spec), { cls: UserError, includes: "--nope" });
  assertThrows(() => parseFlags(["extra"], spec), { cls: UserError });
  assertEquals(parseFlags(["x"], spec, { positionals: true }).positionals, ["x"]);
});

Deno.test("numberFlag names the flag and the bad value", () => {
  assertEquals(numberFlag("2.5", "lr"), 2.5);
  assertThrows(() => numberFlag("abc", "lr"), {
    cls: UserError,
    includes: '--lr must be a non-negative number, got "abc"',
  });
  assertThrows(() => numberFlag("-1", "n"), { cls: UserError, includes: "--n" });
});

Deno.test("parseJsonOrString: JSON when it parses, else the raw string", () => {
  assertEquals(parseJsonOrString("3"), 3);
  assertEquals(parseJsonOrString("-0.5"), -0.5);
  assertEquals(parseJsonOrString("true"), true);
  assertEquals(parseJsonOrString("[1,2]"), [1, 2]);
  assertEquals(parseJsonOrString('"7"'), "7");
  assertEquals(parseJsonOrString("gsm8k"), "gsm8k");
  assertEquals(parseJsonOrString("a=b"), "a=b");
});

Deno.test("parseKeyValue(s): split at the first =, later items win, bad items are one-line errors", () => {
  assertEquals(parseKeyValue(" steps =10"), { key: "steps", value: 10 });
  assertEquals(parseKeyValues(["a=1", "name=a=b", 'tags=["x"]', "a=2"]), { a: 2, name: "a=b", tags: ["x"] });
  assertThrows(() => parseKeyValue("steps"), {
    cls: UserError,
    includes: '--param "steps": expected key=value',
  });
  assertThrows(() => parseKeyValue("=3", { flag: "-p" }), {
    cls: UserError,
    includes: '-p "=3": expected key=value',
  });
  const checkKey = (key: string) => {
    if (key !== "ok") throw new UserError(`bad key ${key}`);
  };
  assertThrows(() => parseKeyValues(["ok=1", "no=2"], { checkKey }), {
    cls: UserError,
    includes: "bad key no",
  });
});
