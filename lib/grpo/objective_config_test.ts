import { UserError } from "../util/mod.ts";
import { assertEquals, assertThrows } from "../util/assert.ts";
import { CONFIG_PRESETS, configPreset, formatConfigHelp, resolveConfig } from "./config.ts";

const bad = (partial: Record<string, unknown>, includes: string) =>
  assertThrows(() => resolveConfig(partial), { cls: UserError, includes: includes });

Deno.test("loss-family options: each bad value is a one-line error naming the option", () => {
  bad(
    { loss_type: "ppo" },
    'loss_type = "ppo": unknown value; expected one of grpo, bnpo, dr_grpo, dapo, cispo, sapo',
  );
  bad({ delta: 1 }, "delta = 1: must be > 1");
  bad({ delta: "big" }, 'delta = "big": expected a finite number');
  bad({ loss_type: "sapo", sapo_temperature_pos: 0 }, "sapo_temperature_pos = 0: must be > 0");
  bad({ loss_type: "sapo", sapo_temperature_neg: -1 }, "sapo_temperature_neg = -1: must be > 0");
  bad({ importance_sampling_level: "batch" }, 'importance_sampling_level = "batch": unknown value');
  bad({ mask_truncated_completions: "yes" }, 'mask_truncated_completions = "yes": expected true or false');
  bad({ top_entropy_quantile: 1.5 }, "top_entropy_quantile = 1.5: must be ≤ 1");
  bad({ top_entropy_quantile: -0.1 }, "top_entropy_quantile = -0.1: must be ≥ 0");
  bad({ entropy_coef: -0.01 }, "entropy_coef = -0.01: must be ≥ 0");
  bad({ multi_objective_aggregation: "mean" }, 'multi_objective_aggregation = "mean": unknown value');
  bad({ dynamic_sampling: 1 }, "dynamic_sampling = 1: expected true or false");
  bad(
    { dynamic_sampling: true, dynamic_sampling_max_rounds: -1 },
    "dynamic_sampling_max_rounds = -1: must be ≥ 0",
  );
  bad({ allow_sequence_token_sum: "no" }, 'allow_sequence_token_sum = "no": expected true or false');
});

Deno.test("loss-family combinations TRL rejects, warns about or ignores are one-line errors", () => {
  // delta is two-sided clipping of the clipped surrogate; TRL ignores it for cispo and sapo
  bad({ loss_type: "cispo", epsilon_high: 5, delta: 4 }, 'delta = 4: has no effect with loss_type "cispo"');
  bad({ loss_type: "sapo", delta: 4 }, 'delta = 4: has no effect with loss_type "sapo"');
  // TRL recommends delta > 1 + epsilon
  bad({ delta: 1.1 }, "delta = 1.1: must be > 1 + epsilon_high (1.2)");
  bad({ epsilon_high: 0.28, delta: 1.25 }, "delta = 1.25: must be > 1 + epsilon_high (1.28)");
  // CISPO's epsilon_high is the cap on the ratio itself (TRL recommends 5.0)
  bad({ loss_type: "cispo" }, 'epsilon_high = null: with loss_type "cispo" it caps the ratio itself');
  bad({ loss_type: "cispo", epsilon_high: 0.28 }, "epsilon_high = 0.28: with loss_type");
  // TRL warns that sequence-level ratios with a token-summing loss are not GSPO's objective
  for (const lt of ["bnpo", "dr_grpo", "dapo"]) {
    bad(
      { loss_type: lt, importance_sampling_level: "sequence" },
      `with loss_type "${lt}" weights each sequence`,
    );
  }
  bad(
    { loss_type: "cispo", epsilon_high: 5, importance_sampling_level: "sequence" },
    "or set allow_sequence_token_sum = true",
  );
  // SAPO temperatures only mean something for sapo
  bad({ sapo_temperature_pos: 2 }, 'sapo_temperature_pos = 2: only applies to loss_type "sapo"');
  bad({ loss_type: "grpo", sapo_temperature_neg: 2 }, "sapo_temperature_neg = 2: only applies");
  // GDPO normalizes itself; a scale_rewards other than group would be silently ignored
  bad(
    { multi_objective_aggregation: "normalize_then_sum", scale_rewards: "batch" },
    'scale_rewards "batch" would be ignored',
  );
  bad({ dynamic_sampling_max_rounds: 5 }, "dynamic_sampling_max_rounds = 5: needs dynamic_sampling = true");
});

Deno.test("loss-family combinations that are valid resolve", () => {
  const ok = [
    { loss_type: "grpo", importance_sampling_level: "sequence" },
    { loss_type: "sapo", importance_sampling_level: "sequence", sapo_temperature_pos: 1.2 },
    { loss_type: "dapo", importance_sampling_level: "sequence", allow_sequence_token_sum: true },
    { loss_type: "cispo", epsilon_high: 5 },
    { loss_type: "dapo", delta: 4 },
    { loss_type: "dr_grpo", epsilon_high: 0.28, delta: 1.5 },
    { mask_truncated_completions: true, top_entropy_quantile: 0.2, entropy_coef: 0.01 },
    { multi_objective_aggregation: "normalize_then_sum" },
    { dynamic_sampling: true, dynamic_sampling_max_rounds: 0 },
  ];
  for (const p of ok) resolveConfig(p);
});

Deno.test("--preset trl: TRL's defaults (dapo, beta 0, no reference pass), valid, listed in --help", () => {
  const trl = configPreset("trl");
  assertEquals([trl.loss_type, trl.beta, trl.learning_rate, trl.epsilon_high], ["dapo", 0, 1e-6, null]);
  const c = resolveConfig(trl as Record<string, unknown>);
  assertEquals([c.beta, c.importance_sampling_level, c.top_entropy_quantile], [0, "token", 1]);
  assertThrows(() => configPreset("verl"), {
    cls: UserError,
    includes: 'unknown preset "verl"; known presets: trl',
  });
  assertEquals(Object.keys(CONFIG_PRESETS), ["trl"]);
  const help = formatConfigHelp(trl);
  for (const name of ["delta", "importance_sampling_level", "top_entropy_quantile", "dynamic_sampling"]) {
    assertEquals(help.includes(`  ${name} `), true, { msg: `${name} in --help` });
  }
  assertEquals(/beta\s+number\s+default 0\n/.test(help), true);
});
