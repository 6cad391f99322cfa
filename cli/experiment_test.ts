import { UserError } from "../lib/util/mod.ts";
import { assert, assertEquals, assertThrows } from "../lib/util/assert.ts";
import { parseArgs, parseParams } from "./experiment.ts";

Deno.test("parseParams: JSON values when they parse, strings otherwise, lora.<field> nests", () => {
  assertEquals(
    parseParams([
      "max_steps=5",
      "learning_rate=1e-4",
      "dataset=gsm8k",
      "reward_weights=[1,0.5]",
      "lora.r=8",
      "epsilon_high=null",
    ]),
    {
      max_steps: 5,
      learning_rate: 1e-4,
      dataset: "gsm8k",
      reward_weights: [1, 0.5],
      lora: { r: 8 },
      epsilon_high: null,
    },
  );
  assertEquals(parseParams(['lora={"r":4,"alpha":8}']), { lora: { r: 4, alpha: 8 } });
  assertEquals(parseParams(["output_dir=a=b"]), { output_dir: "a=b" });
});

Deno.test("parseParams / parseArgs: unknown option or malformed argument → UserError naming it", () => {
  assertThrows(() => parseParams(["max_step=5"]), {
    cls: UserError,
    includes: '"max_step" (did you mean "max_steps"?)',
  });
  assertThrows(() => parseParams(["max_steps"]), { cls: UserError, includes: "expected key=value" });
  assertThrows(() => parseParams(["seed.x=1"]), { cls: UserError, includes: "only lora.<field>" });
  assertEquals(parseArgs(["math_hard", "--param", "seed=1", "--param=max_steps=2"]), {
    id: "math_hard",
    params: ["seed=1", "max_steps=2"],
    help: false,
    preset: null,
  });
  assertEquals(parseArgs(["math_hard", "--preset", "trl"]).preset, "trl");
  assertThrows(() => parseArgs(["math_hard", "--preset", "trll"]), {
    cls: UserError,
    includes: 'unknown preset "trll"',
  });
  assertEquals(parseArgs(["--help"]).help, true);
  assertThrows(() => parseArgs(["math_hard", "--steps", "3"]), {
    cls: UserError,
    includes: "unknown flag --steps",
  });
  assertThrows(() => parseArgs(["math_hard", "extra"]), {
    cls: UserError,
    includes: 'unexpected argument "extra"',
  });
  assertThrows(() => parseArgs(["math_hard", "--param"]), { cls: UserError, includes: "needs key=value" });
});

Deno.test("deno task experiment: --help lists experiments and options; unknown id and param fail with one line", async () => {
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./experiment.ts", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      out: new TextDecoder().decode(out.stdout),
      err: new TextDecoder().decode(out.stderr),
    };
  };
  const help = await run("math_soft", "--help");
  assertEquals(help.code, 0);
  for (const s of ["dialogue_perplexity", "learning_rate", "num_generations", '"math_soft"']) {
    assert(help.out.includes(s), `--help mentions ${s}`);
  }
  const unknown = await run("math_medium");
  assertEquals(unknown.code, 2);
  assert(unknown.err.trim().startsWith('error: unknown experiment "math_medium"'), unknown.err);
  const bad = await run("math_hard", "--param", "warmup=0.1");
  assertEquals(bad.code, 2);
  assert(bad.err.includes('unknown option "warmup"'), bad.err);
});
