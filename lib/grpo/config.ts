/**
 * What is derived from the option table ({@linkcode GRPO_OPTIONS} in `config_table.ts`): the
 * defaults, `--help`, the Markdown options documentation, and {@linkcode resolveConfig}, which
 * rejects unknown options, invalid values (each row's check) and invalid combinations (the checks
 * that involve two options, here) with a one-line message naming the field before any work starts.
 * @module
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fastDecodeUnsupported, type ModelConfig } from "../model/mod.ts";
import { REWARDS } from "../rewards/mod.ts";
import { badOption, checkOptionValues, formatOptionHelp, optionDefaults, UserError } from "../util/mod.ts";
import { checkLossOptions } from "./losses.ts";
import { GRPO_OPTIONS, type GrpoConfig, type LoraConfig, type SchedulerType } from "./config_table.ts";

export type { GrpoConfig, LoraConfig, SchedulerType };
export { DEVICE_CHOICES, GRPO_OPTIONS, SCALE_REWARDS, SCHEDULER_TYPES } from "./config_table.ts";

/** The flat option values (`lora.r` …) of a config. */
function flatten(cfg: GrpoConfig): Record<string, unknown> {
  const { lora, ...rest } = cfg;
  const out: Record<string, unknown> = { ...rest };
  for (const [k, v] of Object.entries(lora)) out[`lora.${k}`] = v;
  return out;
}

/** The defaults of every option, built from {@linkcode GRPO_OPTIONS}. */
export const GRPO_DEFAULTS: Readonly<GrpoConfig> = (() => {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(optionDefaults(GRPO_OPTIONS))) {
    if (name.startsWith("lora.")) ((out.lora ??= {}) as Record<string, unknown>)[name.slice(5)] = v;
    else out[name] = v;
  }
  return Object.freeze(out as unknown as GrpoConfig);
})();

/** `--help` text: one entry per option with its type, default (`defaults` over the table's) and help. */
export function formatConfigHelp(defaults: Partial<GrpoConfig> = {}): string {
  const merged = { ...GRPO_DEFAULTS, ...defaults, lora: { ...GRPO_DEFAULTS.lora, ...defaults.lora } };
  return formatOptionHelp(GRPO_OPTIONS, { defaults: flatten(merged as GrpoConfig) });
}

/** The options as a Markdown table (name, type, default, help): the options documentation. */
export function configOptionsMarkdown(): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const rows = Object.entries(GRPO_OPTIONS).map(([name, s]) =>
    `| \`${name}\` | \`${esc(s.type)}\` | \`${esc(JSON.stringify(s.default))}\` | ${esc(s.help)} |`
  );
  return ["| option | type | default | what |", "| --- | --- | --- | --- |", ...rows].join("\n") + "\n";
}

/**
 * Named sets of option values (`--preset NAME`), applied over an experiment's defaults and under
 * explicit `--param`s. `trl`: TRL `GRPOConfig` 1.x defaults (with HF `TrainingArguments`' optimizer
 * defaults) wherever they differ from this project's; sequence lengths and LoRA stay this project's (TRL
 * has no LoRA default, and its 512-token completions do not fit the tiny model's 512-position context
 * together with a prompt). The README lists the differences and why the project's defaults differ.
 */
export const CONFIG_PRESETS: Readonly<Record<string, Readonly<Partial<GrpoConfig>>>> = Object.freeze({
  trl: Object.freeze(
    {
      loss_type: "dapo",
      beta: 0,
      epsilon: 0.2,
      epsilon_high: null,
      delta: null,
      importance_sampling_level: "token",
      scale_rewards: "group",
      multi_objective_aggregation: "sum_then_normalize",
      mask_truncated_completions: false,
      top_entropy_quantile: 1,
      entropy_coef: 0,
      num_iterations: 1,
      temperature: 1,
      top_p: 1,
      top_k: 0,
      learning_rate: 1e-6,
      adam_beta1: 0.9,
      adam_beta2: 0.999,
      adam_epsilon: 1e-8,
      weight_decay: 0,
      warmup_ratio: 0,
      lr_scheduler_type: "linear",
      max_grad_norm: 1,
      per_device_train_batch_size: 8,
      logging_steps: 10,
    } satisfies Partial<GrpoConfig>,
  ),
});

/** The options of preset `name` (unknown → UserError listing the known ones). */
export function configPreset(name: string): Partial<GrpoConfig> {
  const p = Object.hasOwn(CONFIG_PRESETS, name) ? CONFIG_PRESETS[name] : undefined;
  if (!p) {
    throw new UserError(`unknown preset "${name}"; known presets: ${Object.keys(CONFIG_PRESETS).join(", ")}`);
  }
  return structuredClone(p) as Partial<GrpoConfig>;
}

/** Known option names (top level). */
export const CONFIG_KEYS: readonly string[] = Object.keys(GRPO_DEFAULTS);

function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined, bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

/**
 * Throws a UserError naming `key` when it is not one of `o.known` (default: the option names), with a
 * suggestion; `o.where` names the kind of name in the message (default "option").
 */
export function checkOptionName(key: string, o: { known?: readonly string[]; where?: string } = {}): void {
  const known = o.known ?? CONFIG_KEYS, where = o.where ?? "option";
  if (known.includes(key)) return;
  const hint = closest(key, known);
  throw new UserError(`unknown ${where} "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}`);
}

/** Options of {@linkcode resolveConfig}. */
export interface ResolveConfigOptions {
  /** Defaults to start from instead of {@linkcode GRPO_DEFAULTS} (an experiment's). */
  base?: Partial<GrpoConfig>;
  /** Reward names that are valid besides the lib/rewards registry. */
  extraRewards?: readonly string[];
}

/**
 * Merges `partial` over the defaults and validates every value and combination; an unknown option,
 * a bad value or an impossible combination → UserError naming the field and saying why.
 */
export function resolveConfig(
  partial: Record<string, unknown> = {},
  options: ResolveConfigOptions = {},
): GrpoConfig {
  if (typeof partial !== "object" || partial === null || Array.isArray(partial)) {
    throw new UserError(`config must be an object, got ${JSON.stringify(partial)}`);
  }
  for (const k of Object.keys(partial)) checkOptionName(k);
  const base = { ...structuredClone(GRPO_DEFAULTS), ...structuredClone(options.base ?? {}) } as GrpoConfig;
  const cfg = { ...base, ...structuredClone(partial) } as GrpoConfig;
  if (partial.lora !== undefined) {
    const l = partial.lora;
    if (typeof l !== "object" || l === null || Array.isArray(l)) {
      throw new UserError(`option lora must be an object like {"r": 16}, got ${JSON.stringify(l)}`);
    }
    for (const k of Object.keys(l)) {
      checkOptionName(k, { known: Object.keys(GRPO_DEFAULTS.lora), where: "option lora." });
    }
    cfg.lora = { ...base.lora, ...structuredClone(l as Partial<LoraConfig>) };
  }
  checkOptionValues(GRPO_OPTIONS, flatten(cfg));
  checkCombinations(cfg, [...Object.keys(REWARDS), ...(options.extraRewards ?? [])]);
  return cfg;
}

/** The checks that involve more than one option (each value is already valid on its own). */
function checkCombinations(cfg: GrpoConfig, knownRewards: readonly string[]): void {
  if (cfg.per_device_train_batch_size % cfg.num_generations !== 0) {
    throw new UserError(
      `option per_device_train_batch_size = ${cfg.per_device_train_batch_size} is not divisible by num_generations = ${cfg.num_generations} (each micro-batch holds whole groups)`,
    );
  }
  if (cfg.epsilon_high !== null && cfg.epsilon_high < cfg.epsilon) {
    throw badOption("epsilon_high", { value: cfg.epsilon_high, why: `must be ≥ epsilon (${cfg.epsilon})` });
  }
  checkObjective(cfg);
  for (const r of cfg.reward_funcs) {
    if (!knownRewards.includes(r)) {
      throw badOption(
        "reward_funcs",
        { value: cfg.reward_funcs, why: `unknown reward "${r}"; known: ${knownRewards.join(", ")}` },
      );
    }
  }
  if (cfg.reward_weights !== null && cfg.reward_weights.length !== cfg.reward_funcs.length) {
    throw badOption(
      "reward_weights",
      {
        value: cfg.reward_weights,
        why: `has ${cfg.reward_weights.length} weights for ${cfg.reward_funcs.length} reward_funcs`,
      },
    );
  }
}

/**
 * The combinations TRL rejects, warns about, or silently ignores (each a one-line error here); the loss
 * type's own (its scoped options, its checks, GSPO with a token-summing aggregation) come from its row in
 * the loss table.
 */
function checkObjective(cfg: GrpoConfig): void {
  checkLossOptions(cfg, { isDefault: (k) => cfg[k] === GRPO_OPTIONS[k].default });
  if (cfg.multi_objective_aggregation === "normalize_then_sum" && cfg.scale_rewards !== "group") {
    throw badOption(
      "multi_objective_aggregation",
      {
        value: cfg.multi_objective_aggregation,
        why:
          `normalizes per group and over the batch itself; scale_rewards "${cfg.scale_rewards}" would be ignored (leave it "group")`,
      },
    );
  }
  if (
    !cfg.dynamic_sampling &&
    cfg.dynamic_sampling_max_rounds !== GRPO_OPTIONS.dynamic_sampling_max_rounds.default
  ) {
    throw badOption(
      "dynamic_sampling_max_rounds",
      { value: cfg.dynamic_sampling_max_rounds, why: "needs dynamic_sampling = true" },
    );
  }
}

/** Checks the options that depend on the model: lengths against `max_position_embeddings`. */
export function checkConfigForModel(cfg: GrpoConfig, model: ModelConfig, o: { source?: string } = {}): void {
  const source = o.source ?? "the model";
  const max = model.maxPositions;
  const why = cfg.rollout_quantization !== "none" ? fastDecodeUnsupported(model) : null;
  if (why) {
    throw new UserError(
      `option rollout_quantization = "${cfg.rollout_quantization}" needs the fast decode graph, which ${source} cannot use: ${why}`,
    );
  }
  if (cfg.max_completion_length > max) {
    throw new UserError(
      `option max_completion_length = ${cfg.max_completion_length} is above ${source}'s max_position_embeddings (${max})`,
    );
  }
  if (cfg.max_prompt_length + cfg.max_completion_length > max) {
    throw new UserError(
      `options max_prompt_length + max_completion_length = ${cfg.max_prompt_length} + ${cfg.max_completion_length} exceed ${source}'s max_position_embeddings (${max})`,
    );
  }
}

/** The repository root (two folders above this file). */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/**
 * A model option as a folder path when it names one: absolute paths as they are; a relative path that
 * exists from the working folder, else from the repo root; anything else is returned as is (a hub id).
 */
export function resolveModelPath(model: string): string {
  if (isAbsolute(model)) return model;
  if (existsSync(model)) return resolve(model);
  const fromRoot = resolve(REPO_ROOT, model);
  if (existsSync(fromRoot)) return fromRoot;
  if (model === GRPO_DEFAULTS.model) {
    throw new UserError(
      `option model: the default model ${fromRoot} does not exist yet (run \`deno task pretrain\`)`,
    );
  }
  return model;
}

/** The output folder: absolute paths as they are, relative ones from the repo root. */
export function resolveOutputDir(dir: string): string {
  return isAbsolute(dir) ? dir : resolve(REPO_ROOT, dir);
}
