import { fileURLToPath } from "node:url";
import { parseModelConfig } from "../model/mod.ts";
import { UserError } from "../util/mod.ts";
import { assert, assertEquals, assertThrows } from "../util/assert.ts";
import {
  checkConfigForModel,
  configOptionsMarkdown,
  formatConfigHelp,
  GRPO_DEFAULTS,
  GRPO_OPTIONS,
  REPO_ROOT,
  resolveConfig,
  resolveModelPath,
  resolveOutputDir,
} from "./config.ts";

const bad = (partial: Record<string, unknown>, includes: string) =>
  assertThrows(() => resolveConfig(partial), { cls: UserError, includes: includes });

Deno.test("resolveConfig: defaults, base defaults, partial LoRA overrides", () => {
  const c = resolveConfig({});
  assertEquals(c, {
    ...GRPO_DEFAULTS,
    lora: { ...GRPO_DEFAULTS.lora, targets: [...GRPO_DEFAULTS.lora.targets] },
  });
  assertEquals(c.loss_type, "dapo");
  const d = resolveConfig({ lora: { r: 4 }, learning_rate: 1e-3 }, { base: { reward_funcs: ["math_soft"] } });
  assertEquals([d.lora.r, d.lora.alpha, d.learning_rate, d.reward_funcs], [4, 32, 1e-3, ["math_soft"]]);
  assertEquals(d.lora.targets.length, 7);
  assertEquals(GRPO_DEFAULTS.lora.r, 16, { msg: "defaults are not mutated" });
});

Deno.test("resolveConfig rejects each invalid value or combination, naming the field and why", () => {
  bad({ lerning_rate: 1 }, 'unknown option "lerning_rate" (did you mean "learning_rate"?)');
  bad({ learning_rate: -1e-4 }, "learning_rate = -0.0001: must be ≥ 0");
  bad({ learning_rate: "fast" }, 'learning_rate = "fast": expected a finite number');
  bad({ num_generations: 1 }, "num_generations = 1: must be ≥ 2");
  bad(
    { per_device_train_batch_size: 6, num_generations: 4 },
    "per_device_train_batch_size = 6 is not divisible by num_generations = 4",
  );
  bad({ loss_type: "ppo" }, 'loss_type = "ppo": unknown value; expected one of grpo, bnpo, dr_grpo, dapo');
  bad({ lr_scheduler_type: "step" }, 'lr_scheduler_type = "step": unknown value');
  bad({ device: "tpu" }, 'device = "tpu": unknown value; expected one of auto, cuda, cpu');
  bad({ scale_rewards: true }, "scale_rewards = true");
  bad({ reward_funcs: ["math_hard", "nope"] }, 'unknown reward "nope"; known: math_hard');
  bad({ reward_funcs: [] }, "reward_funcs = []: expected a non-empty list of rewards");
  bad({ reward_funcs: ["format", "format"] }, "lists a reward twice");
  bad({ reward_weights: [1] }, "reward_weights = [1]: has 1 weights for 2 reward_funcs");
  bad({ reward_weights: [1, "x"] }, "x is not a finite number");
  bad({ lora: { targets: [] } }, "lora.targets = []: expected a non-empty list of targets");
  bad({ lora: { targets: ["q_proj", "q_proj"] } }, "lists a target twice");
  bad({ epsilon_high: "x" }, 'epsilon_high = "x": expected a finite number');
  bad({ max_steps: 0 }, "max_steps = 0: must be ≥ 1");
  bad({ max_steps: 2.5 }, "max_steps = 2.5: expected an integer");
  bad({ temperature: 0 }, "temperature = 0: must be > 0");
  bad({ top_p: 1.5 }, "top_p = 1.5: must be ≤ 1");
  bad({ epsilon: 0.2, epsilon_high: 0.1 }, "epsilon_high = 0.1: must be ≥ epsilon");
  bad({ warmup_ratio: 1 }, "warmup_ratio = 1: must be < 1");
  bad({ adam_beta2: 1 }, "adam_beta2 = 1: must be < 1");
  bad({ beta: -0.1 }, "beta = -0.1: must be ≥ 0");
  bad({ threads: 0 }, "threads = 0: must be ≥ 1");
  bad({ lora: { r: 0 } }, "lora.r = 0: must be ≥ 1");
  bad({ lora: { rank: 8 } }, 'unknown option lora. "rank"');
  bad({ lora: { targets: ["q_proj", "attn"] } }, 'unknown target "attn"');
  bad({ lora: 8 }, "option lora must be an object");
  bad({ output_dir: "" }, "output_dir");
  bad({ eval_size: -1 }, "eval_size = -1");
  assertThrows(() => resolveConfig([] as unknown as Record<string, unknown>), {
    cls: UserError,
    includes: "config must be an object",
  });
  assertEquals(resolveConfig({ reward_funcs: ["mine"] }, { extraRewards: ["mine"] }).reward_funcs, ["mine"]);
});

Deno.test("checkConfigForModel: completion (and prompt + completion) must fit max_position_embeddings", () => {
  const model = parseModelConfig({
    architectures: ["LlamaForCausalLM"],
    vocab_size: 10,
    hidden_size: 8,
    intermediate_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    max_position_embeddings: 128,
  });
  checkConfigForModel(resolveConfig({ max_prompt_length: 64, max_completion_length: 64 }), model);
  assertThrows(
    () => checkConfigForModel(resolveConfig({ max_completion_length: 200 }), model, { source: "m" }),
    { cls: UserError, includes: "max_completion_length = 200 is above m's max_position_embeddings (128)" },
  );
  assertThrows(
    () => checkConfigForModel(resolveConfig({ max_prompt_length: 100, max_completion_length: 64 }), model),
    { cls: UserError, includes: "max_prompt_length + max_completion_length = 100 + 64" },
  );
});

Deno.test("one declaration per option: --help, the resolved defaults and docs/options.md agree with the table", () => {
  const names = Object.keys(GRPO_OPTIONS);
  const flat = Object.keys(GRPO_DEFAULTS).flatMap((k) =>
    k === "lora" ? Object.keys(GRPO_DEFAULTS.lora).map((f) => `lora.${f}`) : [k]
  );
  assertEquals(names, flat);
  const resolved = resolveConfig({}) as unknown as Record<string, unknown>;
  const help = formatConfigHelp({ max_steps: 7 });
  for (const [name, spec] of Object.entries(GRPO_OPTIONS)) {
    assert(spec.help.length > 10 && spec.type.length > 0, `${name} needs help text and a type`);
    const value = name.startsWith("lora.")
      ? (resolved.lora as Record<string, unknown>)[name.slice(5)]
      : resolved[name];
    assertEquals(value, spec.default, { msg: `resolved default of ${name}` });
    const def = name === "max_steps" ? 7 : spec.default;
    assert(
      help.includes(
        `  ${name.padEnd(30)} ${spec.type.padEnd(24)} default ${JSON.stringify(def)}\n      ${spec.help}`,
      ),
      `--help entry of ${name}`,
    );
    spec.check(name, spec.default);
  }
  const doc = Deno.readTextFileSync(fileURLToPath(new URL("../../docs/options.md", import.meta.url)));
  assert(
    doc.includes(configOptionsMarkdown()),
    "docs/options.md is out of date with the option table: run `deno task docs`",
  );
});

Deno.test("resolveModelPath / resolveOutputDir: relative paths from the repo root, hub ids untouched", () => {
  assertEquals(resolveModelPath("lib/grpo"), `${REPO_ROOT}/lib/grpo`);
  assertEquals(resolveModelPath("/abs/model"), "/abs/model");
  assertEquals(
    resolveModelPath("HuggingFaceTB/SmolLM2-135M-Instruct"),
    "HuggingFaceTB/SmolLM2-135M-Instruct",
  );
  assertEquals(resolveOutputDir("outputs/x"), `${REPO_ROOT}/outputs/x`);
  assertEquals(resolveOutputDir("/tmp/x"), "/tmp/x");
});
