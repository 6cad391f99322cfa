/**
 * What the Testing notebook compares, and on what: the final adapter of every run in an output folder
 * ({@linkcode findAdapters}) and fixed sets of generated math problems and dialogue prompts that no
 * training split holds ({@linkcode freshTestSets}).
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { GENERATED_DIALOGUE_SEED, GENERATED_MATH_SEED, GENERATED_POOL } from "./experiments.ts";
import { generateDialogues, generateMathProblems } from "../data/generated.ts";
import { dialogueMessages } from "../data/prompts.ts";
import type { DialogueExample, MathExample } from "../data/types.ts";
import { buildCorpus } from "../pretrain/corpus.ts";
import { UserError } from "../util/errors.ts";
import { checkpointName, checkpointStep, readRunConfig, runFile } from "../util/run_folder.ts";

/** The final adapter of one run. */
export interface FoundAdapter {
  /** The run folder relative to the searched folder, e.g. `math_hard`. */
  name: string;
  /** The run folder. */
  runDir: string;
  /** The adapter folder (`adapter_config.json` + `adapter_model.safetensors`). */
  dir: string;
  /** Its checkpoint step (null for an adapter folder outside a checkpoint). */
  step: number | null;
  /** Experiment id from run_config.json (null when there is none). */
  experiment: string | null;
  /** Seed from run_config.json (null when there is none). */
  seed: number | null;
}

/** What {@linkcode findAdapters} found, and the run folders it skipped with the reason. */
export interface AdapterSearch {
  /** Final adapters, in folder order. */
  adapters: FoundAdapter[];
  /** Folders that looked like runs but had no usable adapter (or the searched folder itself when absent). */
  skipped: { dir: string; reason: string }[];
}

const isAdapter = (dir: string) =>
  existsSync(join(dir, "adapter_config.json")) && existsSync(join(dir, "adapter_model.safetensors"));

async function subdirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isDirectory && !e.name.startsWith(".")) out.push(e.name);
  return out.sort();
}

/**
 * The final adapter of every run under `outputsDir` (searched 4 folders deep): an `adapter/` folder or
 * adapter files in the run folder itself when present, else the highest `checkpoint-<step>/` holding an
 * adapter (what the trainer writes). A run folder is one with `run_config.json` or `checkpoint-*` folders.
 */
export async function findAdapters(outputsDir: string): Promise<AdapterSearch> {
  const result: AdapterSearch = { adapters: [], skipped: [] };
  if (!existsSync(outputsDir) || !statSync(outputsDir).isDirectory()) {
    result.skipped.push({ dir: outputsDir, reason: "no such folder (no runs yet)" });
    return result;
  }
  const visit = async (dir: string, depth: number): Promise<void> => {
    const names = await subdirs(dir);
    const steps = names.map(checkpointStep).filter((s): s is number => s !== null);
    const hasConfig = existsSync(runFile(dir, "runConfig"));
    if (!hasConfig && !steps.length && !isAdapter(dir)) {
      if (depth < 4) {
        for (const n of names) if (n !== "node_modules") await visit(join(dir, n), depth + 1);
      }
      return;
    }
    let experiment: string | null = null, seed: number | null = null;
    if (hasConfig) {
      try {
        const rc = await readRunConfig(dir);
        experiment = typeof rc.experiment === "string" ? rc.experiment : null;
        seed = Number.isInteger(rc.seed) ? rc.seed as number : null;
      } catch (e) {
        result.skipped.push({
          dir,
          reason: `run_config.json unreadable (${(e as Error).message.split("\n")[0]})`,
        });
        return;
      }
    }
    const name = relative(outputsDir, dir) || ".";
    const base = { name, runDir: dir, experiment, seed };
    if (isAdapter(join(dir, "adapter"))) {
      result.adapters.push({ ...base, dir: join(dir, "adapter"), step: null });
    } else if (isAdapter(dir)) result.adapters.push({ ...base, dir, step: null });
    else {
      const usable = steps.sort((a, b) => b - a).find((s) => isAdapter(join(dir, checkpointName(s))));
      if (usable === undefined) {
        result.skipped.push({ dir, reason: "no adapter (no checkpoint-<step>/ with adapter files)" });
      } else result.adapters.push({ ...base, dir: join(dir, checkpointName(usable)), step: usable });
    }
  };
  await visit(outputsDir, 0);
  return result;
}

/** Seed of the Testing notebook's math problems. */
export const TESTING_MATH_SEED = 20_250_003;
/** Seed of the Testing notebook's dialogue prompts. */
export const TESTING_DIALOGUE_SEED = 20_250_004;

const seenCache = new Map<number, { math: Set<string>; dialogue: Set<string> }>();

/** User-turn texts of every training example: the GRPO pools and the tiny model's pretraining corpus. */
function trainingTexts(pretrainSeed: number): { math: Set<string>; dialogue: Set<string> } {
  let s = seenCache.get(pretrainSeed);
  if (s) return s;
  s = { math: new Set(), dialogue: new Set() };
  for (const p of buildCorpus({ seed: pretrainSeed })) {
    const user = p.messages.find((m) => m.role === "user")?.content ?? "";
    s[p.kind].add(user);
  }
  for (const p of generateMathProblems(GENERATED_POOL, { seed: GENERATED_MATH_SEED })) s.math.add(p.question);
  for (const d of generateDialogues(GENERATED_POOL, { seed: GENERATED_DIALOGUE_SEED })) {
    s.dialogue.add(dialogueMessages(d)[0].content);
  }
  seenCache.set(pretrainSeed, s);
  return s;
}

function drawFresh<T>(
  n: number,
  what: string,
  gen: (count: number) => T[],
  key: (x: T) => string,
  seen: Set<string>,
): { rows: T[]; excluded: number } {
  if (n === 0) return { rows: [], excluded: 0 };
  for (let draw = Math.max(4 * n, 200);; draw *= 4) {
    const keep = new Map<string, T>();
    let excluded = 0;
    for (const x of gen(draw)) {
      const k = key(x);
      if (seen.has(k)) excluded++;
      else if (!keep.has(k)) keep.set(k, x);
      if (keep.size === n) break;
    }
    if (keep.size === n) return { rows: [...keep.values()], excluded };
    if (draw >= 64_000) {
      throw new UserError(
        `${what}: only ${keep.size} distinct ones are in no training split; asked for ${n}`,
      );
    }
  }
}

/** The corpus seed recorded in `<modelDir>/pretrain_log.json` (written by `deno task pretrain`), or null. */
export function pretrainSeedOf(modelDir: string): number | null {
  try {
    const seed = JSON.parse(Deno.readTextFileSync(join(modelDir, "pretrain_log.json")))?.options?.seed;
    return Number.isInteger(seed) ? seed : null;
  } catch {
    return null; // not a model this project pretrained (or a hub id): the default corpus seed applies
  }
}

/** Options of {@linkcode freshTestSets}. */
export interface FreshTestSetOptions {
  /** Math problems (default 50). */
  math?: number;
  /** Dialogue prompts (default 20). */
  dialogue?: number;
  /** Seed of the tiny model's pretraining corpus (default: `modelDir`'s recorded seed, else 0). */
  pretrainSeed?: number;
  /** The model folder, whose `pretrain_log.json` names its corpus seed. */
  modelDir?: string;
}

/**
 * A fixed set of `math` generated problems and `dialogue` generated prompts that are in no training split:
 * not in the GRPO pools of the six experiments nor in the tiny model's pretraining corpus. Same arguments,
 * same sets. `excluded` counts draws dropped as seen in training; `pretrainSeed` is the corpus seed used.
 */
export function freshTestSets(options: FreshTestSetOptions = {}): {
  problems: MathExample[];
  prompts: DialogueExample[];
  excluded: { math: number; dialogue: number };
  pretrainSeed: number;
} {
  const nMath = options.math ?? 50, nDialogue = options.dialogue ?? 20;
  for (const [k, v] of [["math", nMath], ["dialogue", nDialogue]] as const) {
    if (!(Number.isInteger(v) && v >= 0)) {
      throw new UserError(`freshTestSets: ${k} must be an integer ≥ 0, got ${v}`);
    }
  }
  const pretrainSeed = options.pretrainSeed ?? (options.modelDir ? pretrainSeedOf(options.modelDir) : null) ??
    0;
  const seen = trainingTexts(pretrainSeed);
  const m = drawFresh(
    nMath,
    "math problems",
    (c) => generateMathProblems(c, { seed: TESTING_MATH_SEED }),
    (p) => p.question,
    seen.math,
  );
  const d = drawFresh(
    nDialogue,
    "dialogue prompts",
    (c) => generateDialogues(c, { seed: TESTING_DIALOGUE_SEED }),
    (x) => dialogueMessages(x)[0].content,
    seen.dialogue,
  );
  return {
    problems: m.rows,
    prompts: d.rows,
    excluded: { math: m.excluded, dialogue: d.excluded },
    pretrainSeed,
  };
}
