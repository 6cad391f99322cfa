/**
 * `deno task experiment <id> [--param key=value …] [--help]`: trains one of the experiments.
 * Values are parsed as JSON when they parse (`--param lora={"r":8}`, `--param reward_weights=[1,0.5]`),
 * else taken as strings; `lora.r=8` sets one LoRA field. An unknown option → an error naming it.
 * Ctrl-C or SIGTERM finishes the current step, writes a checkpoint, says how to resume and exits 130
 * (SIGINT) or 143 (SIGTERM); a second signal quits at once. A signal that comes while the model and data
 * load stops the run before its first step.
 * @module
 */
import {
  checkOptionName,
  CONFIG_KEYS,
  CONFIG_PRESETS,
  configPreset,
  formatConfigHelp,
  GRPO_DEFAULTS,
  installStopHandler,
  signalExitCode,
  StopSignal,
} from "../lib/grpo/mod.ts";
import {
  defaultOutputDir,
  describeExperiments,
  getExperiment,
  getTask,
  runExperiment,
} from "../lib/study/mod.ts";
import { describeRewards } from "../lib/rewards/mod.ts";
import { formatValue, parseKeyValue, runMain, UserError } from "../lib/util/mod.ts";
import { loadEvalRecords, loadRuns, pairedSentence, pairedVsBase } from "../lib/analysis/mod.ts";

const USAGE = "usage: deno task experiment <id> [--preset trl] [--param key=value …] [--help]";

/** Parses `key=value` params into an options object (JSON values when they parse; `lora.x` nests). */
export function parseParams(items: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of items) {
    const { key, value } = parseKeyValue(item);
    const dot = key.indexOf(".");
    if (dot > 0) {
      const head = key.slice(0, dot);
      checkOptionName(head, { known: CONFIG_KEYS });
      if (head !== "lora") {
        throw new UserError(`--param ${key}: only lora.<field> can be set by a dotted name`);
      }
      const sub = (out.lora ??= {}) as Record<string, unknown>;
      sub[key.slice(dot + 1)] = value;
    } else {
      checkOptionName(key, { known: CONFIG_KEYS });
      out[key] = value;
    }
  }
  return out;
}

/** Splits the command line into the experiment id, params and whether help was asked for. */
export function parseArgs(
  args: readonly string[],
): { id: string | null; params: string[]; help: boolean; preset: string | null } {
  let id: string | null = null, help = false, preset: string | null = null;
  const params: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--help" || a === "-h") help = true;
    else if (a === "--param" || a === "-p") {
      if (i + 1 >= args.length) throw new UserError(`${a} needs key=value`);
      params.push(args[++i]);
    } else if (a.startsWith("--param=")) params.push(a.slice("--param=".length));
    else if (a === "--preset") {
      if (i + 1 >= args.length) throw new UserError(`--preset needs a name (${Object.keys(CONFIG_PRESETS)})`);
      preset = args[++i];
    } else if (a.startsWith("--preset=")) preset = a.slice("--preset=".length);
    else if (a.startsWith("-")) throw new UserError(`unknown flag ${a}; ${USAGE}`);
    else if (id === null) id = a;
    else throw new UserError(`unexpected argument "${a}"; ${USAGE}`);
  }
  if (preset !== null) configPreset(preset);
  return { id, params, help, preset };
}

if (import.meta.main) {
  await runMain(async () => {
    const { id, params, help, preset } = parseArgs(Deno.args);
    const presetValues = preset ? configPreset(preset) : {};
    if (help || id === null) {
      const defaults = id
        ? {
          ...getExperiment(id).defaults,
          output_dir: defaultOutputDir(id, GRPO_DEFAULTS.seed),
          ...presetValues,
        }
        : presetValues;
      const text =
        `${USAGE}\n\nexperiments:\n${describeExperiments()}\n\nrewards (reward_funcs):\n${describeRewards()}\n\noptions${
          id ? ` (defaults of ${id})` : ""
        }:\n${formatConfigHelp(defaults)}`;
      if (help) return console.log(text);
      throw new UserError(`no experiment given; ${USAGE} (known: see --help)`);
    }
    const metrics = getTask(getExperiment(id).task).metrics;
    // Signals are handled from here on (not only while training), so a stop never leaves a half-set-up run.
    const stop = new StopSignal();
    installStopHandler(stop);
    const result = await runExperiment(id, {
      params: { ...presetValues, ...parseParams(params) } as Record<string, unknown>,
      stop,
      handleSigint: false,
    });
    const last = [...result.rows].reverse().find((r) => metrics.some((k) => r[k] !== undefined));
    if (last) {
      for (const k of metrics.filter((k) => last[k] !== undefined)) {
        const first = result.rows.find((r) => r[k] !== undefined)!;
        const ci = (r: Record<string, number>) =>
          r[`${k}_ci_low`] !== undefined
            ? ` [${formatValue(r[`${k}_ci_low`])}, ${formatValue(r[`${k}_ci_high`])}]`
            : "";
        console.error(
          `${k}: ${formatValue(first[k])}${ci(first)} at step ${first.step} → ${formatValue(last[k])}${
            ci(last)
          } at step ${last.step}`,
        );
      }
      const evals = await loadEvalRecords(await loadRuns(result.outputDir, { allowEmpty: true }));
      for (const c of pairedVsBase(evals.runs)) console.error(pairedSentence(c));
    }
    console.log(
      `output: ${result.outputDir}${
        result.stopped ? ` (stopped at step ${result.step}; checkpoint ${result.checkpoint})` : ""
      }`,
    );
    if (result.stopped) Deno.exit(signalExitCode(stop.reason));
  });
}
