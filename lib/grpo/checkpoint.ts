/**
 * Checkpoints: `checkpoint-<step>/` holding the PEFT adapter (`adapter_config.json`,
 * `adapter_model.safetensors`), the AdamW state (`optimizer.safetensors` with `m.<name>` / `v.<name>`
 * and `optimizer.json` with its step), `training_state.json` (experiment, step, RNG state, data
 * position, token count, rollouts still to be reused) and `trainer_state.json` (the metrics so far).
 * Each is written into a temp folder that is renamed into place, so a kill or a full disk never leaves
 * half a checkpoint under a checkpoint's name (a failed write is one line naming the checkpoint). On
 * load, a checkpoint is checked whole (every file present, JSON parses, safetensors sizes match) and
 * `latest` passes over one that is not, with a notice.
 * @module
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  type AdamWState,
  loadLora,
  type LoraAdapter,
  type ModelConfig,
  readSafetensors,
  readSafetensorsHeader,
  saveLora,
  writeSafetensors,
} from "../model/mod.ts";
import {
  checkpointName,
  listCheckpoints,
  osErrorReason,
  Rng,
  type RngState,
  runFile,
  UserError,
  writeFileAtomic,
  writeJsonAtomic,
} from "../util/mod.ts";
import type { GrpoConfig } from "./config_table.ts";
import type { MetricsRow } from "./logging.ts";
import type { RolloutBatch } from "./rollout.ts";

/** Everything besides weights and optimizer moments that a resume needs. */
export interface TrainingState {
  /** Experiment id of the run that wrote it. */
  experiment: string;
  /** Optimizer steps done. */
  step: number;
  /** Sampling RNG state. */
  rng: RngState;
  /** Prompts drawn from the data order so far. */
  data_position: number;
  /** Tokens processed so far (TRL `num_tokens`). */
  num_tokens: number;
  /** Rollouts generated but not yet used `num_iterations` times, with how often they were used. */
  rollouts: { uses: number; batch: RolloutBatch } | null;
  /** The resolved config of the run. */
  config: GrpoConfig;
}

/** What a checkpoint holds. */
export interface Checkpoint {
  /** Its folder. */
  dir: string;
  /** The adapter. */
  lora: LoraAdapter;
  /** AdamW moments and step. */
  optimizer: AdamWState;
  /** RNG, data position, counters, pending rollouts, config. */
  state: TrainingState;
  /** Logged rows up to `state.step`. */
  rows: MetricsRow[];
}

/** The training loop's state between steps: what a checkpoint saves and a resume restores. */
export interface LoopState {
  /** Optimizer steps done. */
  step: number;
  /** The adapter being trained. */
  lora: LoraAdapter;
  /** AdamW moments and step. */
  optimizer: AdamWState;
  /** The sampling RNG. */
  rng: Rng;
  /** Prompts drawn from the data order so far. */
  position: number;
  /** Tokens processed so far. */
  numTokens: number;
  /** Rollouts generated and how often they were used (reused `num_iterations` times). */
  buffer: { uses: number; batch: RolloutBatch } | null;
}

/** The loop state a checkpoint holds. */
export function restoredState(c: Checkpoint): LoopState {
  return {
    step: c.state.step,
    lora: c.lora,
    optimizer: c.optimizer,
    rng: Rng.fromState(c.state.rng),
    position: c.state.data_position,
    numTokens: c.state.num_tokens,
    buffer: c.state.rollouts,
  };
}

/** What a checkpoint of `s` saves besides weights and moments (rollouts only while still to be reused). */
export function trainingState(
  s: LoopState,
  o: { experiment: string; config: GrpoConfig },
): TrainingState {
  return {
    experiment: o.experiment,
    step: s.step,
    rng: s.rng.state(),
    data_position: s.position,
    num_tokens: s.numTokens,
    rollouts: s.buffer && s.buffer.uses < o.config.num_iterations ? s.buffer : null,
    config: o.config,
  };
}

/** JSON with typed arrays as plain arrays (float32 values round-trip exactly through JSON numbers). */
function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) => (ArrayBuffer.isView(v) ? { __typed: v.constructor.name, v: [...(v as Float32Array)] } : v),
  );
}

function fromJson<T>(text: string): T {
  return JSON.parse(text, (_k, v) => {
    if (v && typeof v === "object" && typeof v.__typed === "string") {
      if (v.__typed === "Float32Array") return Float32Array.from(v.v);
      if (v.__typed === "Float64Array") return Float64Array.from(v.v);
      throw new Error(`unknown typed array ${v.__typed}`);
    }
    return v;
  });
}

/** Writes `checkpoint-<step>/` into `outputDir` atomically (temp folder + rename); returns its path. */
export async function saveCheckpoint(
  outputDir: string,
  c: Omit<Checkpoint, "dir"> & { trainerState: Record<string, unknown> },
): Promise<string> {
  await Deno.mkdir(outputDir, { recursive: true });
  const name = checkpointName(c.state.step);
  const final = join(outputDir, name);
  const tmp = join(
    outputDir,
    `.${name}.${Deno.pid}.${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}.tmp`,
  );
  await Deno.mkdir(tmp, { recursive: true });
  try {
    await saveLora(tmp, c.lora);
    const moments = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, m] of c.optimizer.m) moments.set(`m.${k}`, { shape: [m.length], data: m });
    for (const [k, v] of c.optimizer.v) moments.set(`v.${k}`, { shape: [v.length], data: v });
    await writeSafetensors(join(tmp, "optimizer.safetensors"), moments);
    await writeJsonAtomic(join(tmp, "optimizer.json"), { step: c.optimizer.step, type: "adamw" });
    await testPause(c.state.step);
    await writeFileAtomic(join(tmp, "training_state.json"), toJson(c.state));
    await writeJsonAtomic(runFile(tmp, "trainerState"), { ...c.trainerState, log_history: c.rows });
    let old: string | null = null;
    try {
      await Deno.stat(final);
      old = `${tmp}.old`;
      await Deno.rename(final, old);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    await Deno.rename(tmp, final);
    if (old) await Deno.remove(old, { recursive: true });
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    const os = osErrorReason(e) ?? osErrorReason((e as Error).cause);
    if (os) throw new UserError(`cannot write checkpoint ${final}: ${os}`);
    throw e;
  }
  return final;
}

/** The files every checkpoint holds. */
const CHECKPOINT_FILES = [
  "adapter_config.json",
  "adapter_model.safetensors",
  "optimizer.safetensors",
  "optimizer.json",
  "training_state.json",
  "trainer_state.json",
];

/**
 * Why the checkpoint in `dir` is not whole (a file missing or empty, JSON that does not parse, a
 * safetensors file shorter than its header says), or null when it is.
 */
export async function checkpointProblem(dir: string): Promise<string | null> {
  for (const f of CHECKPOINT_FILES) {
    const path = join(dir, f);
    try {
      if ((await Deno.stat(path)).size === 0) return `${f} is empty`;
      if (f.endsWith(".json")) JSON.parse(await Deno.readTextFile(path));
      else await readSafetensorsHeader(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return `${f} is missing`;
      return `${f}: ${(e as Error).message.split("\n")[0]}`;
    }
  }
  return null;
}

/**
 * Test hook for the crash tests: with `GRPO_TEST_CHECKPOINT_PAUSE=<step>` in the environment, the writer
 * of checkpoint `<step>` says so on stderr and stalls halfway (inside its temp folder) for a minute.
 */
async function testPause(step: number): Promise<void> {
  let at: string | undefined;
  try {
    at = Deno.env.get("GRPO_TEST_CHECKPOINT_PAUSE");
  } catch { /* no env permission: no hook */ }
  if (at === undefined || Number(at) !== step) return;
  console.error(`test hook: paused while writing checkpoint-${step} (GRPO_TEST_CHECKPOINT_PAUSE)`);
  await new Promise((r) => setTimeout(r, 60_000));
}

/** Names of the temp files and folders an interrupted atomic write leaves (`.<name>.<pid>.<rand>.tmp[.old]`). */
const TEMP = /^\..+\.\d+\.[0-9a-z]+\.tmp(\.old)?$/;

/**
 * Removes what interrupted atomic writes left in `outputDir` (half-written checkpoint folders, temp
 * files; a complete checkpoint moved aside for a replacement that never landed is put back); returns
 * their names. Only call it while no other run writes into `outputDir`.
 */
export async function removeStaleTemps(outputDir: string): Promise<string[]> {
  const gone: string[] = [];
  try {
    for await (const e of Deno.readDir(outputDir)) {
      if (!TEMP.test(e.name)) continue;
      // A complete checkpoint moved aside to be replaced, whose replacement never landed: put it back.
      const replaced = /^\.(checkpoint-\d+)\..*\.tmp\.old$/.exec(e.name);
      if (replaced && !existsSync(join(outputDir, replaced[1]))) {
        await Deno.rename(join(outputDir, e.name), join(outputDir, replaced[1]));
      } else await Deno.remove(join(outputDir, e.name), { recursive: true });
      gone.push(e.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return gone.sort();
}

export { listCheckpoints } from "../util/mod.ts";

/**
 * The checkpoint folder `spec` names: a path, or "latest" (the highest step in `outputDir` whose
 * checkpoint is whole; one that is not is passed over with a notice through `log`).
 */
export async function findCheckpoint(
  spec: string,
  outputDir: string,
  options: { log?: (line: string) => void } = {},
): Promise<string> {
  if (spec === "latest") {
    const steps = await listCheckpoints(outputDir);
    if (!steps.length) {
      throw new UserError(`resume_from_checkpoint = "latest": no checkpoint-<step> folder in ${outputDir}`);
    }
    const log = options.log ?? ((l: string) => console.error(l));
    for (const step of steps.reverse()) {
      const dir = join(outputDir, checkpointName(step));
      const problem = await checkpointProblem(dir);
      if (problem === null) return dir;
      log(`notice: ${dir} is incomplete (${problem}); passing over it`);
    }
    throw new UserError(`resume_from_checkpoint = "latest": no complete checkpoint in ${outputDir}`);
  }
  const dir = resolve(spec);
  try {
    if (!(await Deno.stat(join(dir, "training_state.json"))).isFile) throw new Deno.errors.NotFound();
  } catch {
    throw new UserError(
      `resume_from_checkpoint = ${
        JSON.stringify(spec)
      }: ${dir} is not a checkpoint folder (no training_state.json)`,
    );
  }
  const problem = await checkpointProblem(dir);
  if (problem) {
    throw new UserError(
      `resume_from_checkpoint = ${JSON.stringify(spec)}: ${dir} is incomplete (${problem})`,
    );
  }
  return dir;
}

/**
 * Loads a checkpoint written by {@linkcode saveCheckpoint} for `experiment` on a model with `model`'s
 * shape. A checkpoint of another experiment, or an adapter that does not fit → UserError.
 */
export async function loadCheckpoint(
  dir: string,
  o: { model: ModelConfig; experiment: string },
): Promise<Checkpoint> {
  const statePath = join(dir, "training_state.json");
  let state: TrainingState;
  try {
    state = fromJson<TrainingState>(await Deno.readTextFile(statePath));
  } catch (e) {
    throw new UserError(`${statePath}: cannot read (${(e as Error).message.split("\n")[0]})`);
  }
  if (state.experiment !== o.experiment) {
    throw new UserError(
      `${dir} is a checkpoint of experiment "${state.experiment}", not "${o.experiment}"; resume it with that experiment or start fresh`,
    );
  }
  if (
    !Number.isInteger(state.step) || state.step < 1 || !Array.isArray(state.rng) || state.rng.length !== 4
  ) {
    throw new UserError(`${statePath}: missing or invalid "step"/"rng"`);
  }
  const lora = await loadLora(dir, o.model);
  const optPath = join(dir, "optimizer.safetensors");
  const moments = await readSafetensors(optPath);
  const opt = JSON.parse(await Deno.readTextFile(join(dir, "optimizer.json")));
  const optimizer: AdamWState = { step: Number(opt.step), m: new Map(), v: new Map() };
  for (const [name, t] of lora.tensors) {
    const m = moments.get(`m.${name}`), v = moments.get(`v.${name}`);
    if (!m || !v || m.data.length !== t.data.length || v.data.length !== t.data.length) {
      throw new UserError(`${optPath}: missing or mis-sized moments of ${name}`);
    }
    optimizer.m.set(name, m.data as Float32Array);
    optimizer.v.set(name, v.data as Float32Array);
  }
  const trainer = JSON.parse(await Deno.readTextFile(runFile(dir, "trainerState")));
  const rows = (trainer.log_history ?? []) as MetricsRow[];
  return { dir, lora, optimizer, state, rows };
}
