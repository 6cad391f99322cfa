/**
 * Rollouts: the seeded prompt order, prompt encoding with left truncation, one `generate` call per
 * micro-batch (each prompt repeated `num_generations` times), batch assembly (left-padded prompt,
 * right-padded completion), rewards (null = not applicable), advantages, DAPO dynamic sampling,
 * `mask_truncated_completions`, and the no-grad passes (reference log-probs
 * when `beta > 0`; the policy's log-probs and entropies, which are the "old" log-probs when
 * `num_iterations > 1`).
 * @module
 */
import type { CausalLM, TokenBatch } from "../model/causal_lm.ts";
import type { LoraAdapter } from "../model/lora.ts";
import type { ChatMessage, Tokenizer } from "../model/tokenizer.ts";
import { computeRewards, type RewardScores } from "../rewards/registry.ts";
import type { RewardContext, RewardFunction } from "../rewards/types.ts";
import { Rng } from "../util/rng.ts";
import type { GrpoConfig } from "./config_table.ts";
import { combineRewards, groupsWithSpread } from "./objective.ts";

/** One training example: the prompt's chat messages and what the rewards compare against. */
export interface TrainExample {
  /** The prompt as chat messages (rendered with the model's chat template). */
  messages: ChatMessage[];
  /** Gold answer (math rewards). */
  answer?: string;
  /** Reference response (judge rewards). */
  reference?: string;
  /** The prompt text rewards see (default: the rendered chat prompt); dialogue uses the plain user turn. */
  promptText?: string;
}

/** A prompt ready for generation. */
export interface EncodedPrompt {
  /** The rendered prompt text (before truncation; what rewards see). */
  text: string;
  /** Token ids, at most `max_prompt_length` (the left part cut). */
  ids: number[];
  /** Whether tokens were cut. */
  truncated: boolean;
}

/** Renders `messages` with the chat template, encodes them and keeps the last `maxLength` tokens. */
export function encodePrompt(tok: Tokenizer, messages: ChatMessage[], maxLength: number): EncodedPrompt {
  const text = tok.applyChatTemplate(messages, { addGenerationPrompt: true });
  const all = tok.encode(text);
  const truncated = all.length > maxLength;
  return { text, ids: truncated ? all.slice(all.length - maxLength) : all, truncated };
}

/**
 * The order in which training examples are drawn: a fresh seeded shuffle of all `n` examples per
 * epoch, so position `p` (prompts drawn so far) fully determines what comes next.
 */
export class DataOrder {
  /** How many examples. */
  readonly n: number;
  /** The run's seed. */
  readonly seed: number;
  #perms = new Map<number, number[]>();

  /** Orders `n` examples with `seed`. */
  constructor(n: number, seed: number) {
    if (!(n > 0)) throw new Error("DataOrder needs at least one example");
    this.n = n;
    this.seed = seed;
  }

  /** Example indices for positions `[start, start + count)`. */
  indices(start: number, count: number): number[] {
    const out: number[] = [];
    for (let p = start; p < start + count; p++) {
      const epoch = Math.floor(p / this.n);
      let perm = this.#perms.get(epoch);
      if (!perm) {
        perm = new Rng(this.seed * 1000003 + epoch + 1).shuffle(Array.from({ length: this.n }, (_, i) => i));
        this.#perms.set(epoch, perm);
        if (this.#perms.size > 2) this.#perms.delete(Math.min(...this.#perms.keys()));
      }
      out.push(perm[p % this.n]);
    }
    return out;
  }
}

/**
 * One batch of rows `[prompt left-padded to the longest prompt | completion right-padded]`, with the
 * completion mask in token alignment (1 on completion tokens, EOS included).
 */
export function assembleBatch(
  prompts: readonly number[][],
  completions: readonly number[][],
  pad: number,
): { batch: TokenBatch; completionMask: Float64Array; promptWidth: number } {
  const B = prompts.length;
  const P = Math.max(...prompts.map((p) => p.length));
  const C = Math.max(1, ...completions.map((c) => c.length));
  const T = P + C;
  const ids = new Array<number>(B * T).fill(pad), mask = new Array<number>(B * T).fill(0);
  const completionMask = new Float64Array(B * T);
  for (let r = 0; r < B; r++) {
    const p = prompts[r], c = completions[r];
    for (let i = 0; i < p.length; i++) {
      ids[r * T + P - p.length + i] = p[i];
      mask[r * T + P - p.length + i] = 1;
    }
    for (let i = 0; i < c.length; i++) {
      ids[r * T + P + i] = c[i];
      mask[r * T + P + i] = 1;
      completionMask[r * T + P + i] = 1;
    }
  }
  return { batch: { ids, mask, batch: B, length: T }, completionMask, promptWidth: P };
}

/** One micro-batch of rollouts with everything the optimizer step needs. */
export interface MicroBatch {
  /** Token rows. */
  batch: TokenBatch;
  /** [B·T] 1 on completion tokens (token alignment). */
  completionMask: Float64Array;
  /** One advantage per row. */
  advantages: number[];
  /** Reference (base model) log-probs, next-token aligned, when beta > 0. */
  ref?: Float32Array;
  /** The policy's log-probs at rollout time, next-token aligned (the old log-probs). */
  old?: Float32Array;
  /** The policy's entropies at rollout time, next-token aligned. */
  entropy?: Float32Array;
  /**
   * The sampler's log-probs of the completion tokens (next-token aligned), when the sampling graph differs
   * from the training graph (`rollout_quantization` ≠ "none"); the importance-sampling correction uses them.
   */
  sampling?: Float32Array;
}

/** One completion with its prompt, rewards and advantage. */
export interface Sample {
  /** Index of the training example. */
  example: number;
  /** Rendered prompt text (what the policy saw). */
  prompt: string;
  /** The prompt text rewards saw ({@linkcode TrainExample.promptText}, else `prompt`). */
  rewardPrompt: string;
  /** Decoded completion (special tokens dropped). */
  completion: string;
  /** Completion tokens (EOS included). */
  length: number;
  /** Whether it ended with EOS. */
  terminated: boolean;
}

/** DAPO dynamic sampling's bookkeeping for one step. */
export interface DynamicSamplingStats {
  /** Extra generation rounds run to refill the batch. */
  rounds: number;
  /** Completions generated in those extra rounds. */
  extraGenerations: number;
  /** Groups (prompts) the step was meant to train on. */
  targetGroups: number;
  /** Groups it trains on (fewer when the batch could not be filled). */
  trainGroups: number;
  /** Groups dropped for zero reward spread. */
  droppedGroups: number;
  /** Whether the batch was filled with groups that have reward spread. */
  filled: boolean;
}

/** The rollouts of one optimizer step (all accumulated micro-batches). */
export interface RolloutBatch {
  /** The micro-batches, in order. */
  micro: MicroBatch[];
  /** One entry per completion, in row order. */
  samples: Sample[];
  /** Scores per reward and their weighted sum, per completion. */
  rewards: RewardScores;
  /** One advantage per completion. */
  advantages: number[];
  /** Per-group reward std. */
  groupStd: number[];
  /** Groups whose rewards were all equal (no learning signal). */
  zeroStdGroups: number;
  /** Share of the first-round groups with zero reward spread (before any dynamic-sampling filter). */
  fracRewardZeroStd?: number;
  /** Dynamic sampling bookkeeping (when `dynamic_sampling` is on). */
  dynamic?: DynamicSamplingStats;
  /** Completions whose loss was masked because they were cut at max_completion_length. */
  maskedTruncated?: number;
  /** Seconds spent in the reference (base model) forward passes: 0 when beta = 0, which runs none. */
  referenceSeconds?: number;
  /** Prompts whose left part was cut. */
  truncatedPrompts: number;
  /** Non-padding tokens (prompt + completion) over all rows, dropped groups included. */
  tokens: number;
  /** Seconds spent sampling and in the no-grad passes (`rollout_s`) and scoring rewards (`reward_s`). */
  timing: { rollout_s: number; reward_s: number };
}

/** Options of {@linkcode collectRollouts}. */
export interface CollectOptions {
  /** The run's configuration. */
  config: GrpoConfig;
  /** The training examples. */
  examples: readonly TrainExample[];
  /** Example indices, one per prompt (per_device_train_batch_size / num_generations per micro-batch). */
  indices: readonly number[];
  /** Rewards, in `reward_funcs` order. */
  rewards: readonly RewardFunction[];
  /** Sampling RNG (advanced in place). */
  rng: Rng;
  /** Cache of encoded prompts by example index. */
  promptCache?: Map<number, EncodedPrompt>;
  /** Compute the policy pass (old log-probs, entropy). Default true. */
  policyPass?: boolean;
  /** Dynamic sampling: the next `count` example indices (advances the data order). */
  morePrompts?: (count: number) => number[];
}

/** One prompt's group of completions, scored. */
interface Group {
  example: number;
  ids: number[];
  tokens: number[][];
  /** The sampler's log-probs of each completion's tokens (quantized rollouts). */
  logprobs?: number[][];
  samples: Sample[];
  /** Per reward, one score (or null) per completion of the group. */
  scores: (number | null)[][];
  std: number;
}

/** Generates and scores one group per index (one `generate` call per micro-batch worth of prompts). */
async function generateGroups(
  model: CausalLM,
  lora: LoraAdapter,
  indices: readonly number[],
  o: CollectOptions & {
    cache: Map<number, EncodedPrompt>;
    counts: { truncatedPrompts: number; tokens: number; rewardSeconds: number };
  },
): Promise<Group[]> {
  const cfg = o.config, G = cfg.num_generations, tok = model.tok;
  const perMicro = cfg.per_device_train_batch_size / G;
  const groups: Group[] = [];
  for (let m = 0; m * perMicro < indices.length; m++) {
    const idx = indices.slice(m * perMicro, (m + 1) * perMicro);
    const enc = idx.map((i) => {
      let e = o.cache.get(i);
      if (!e) o.cache.set(i, e = encodePrompt(tok, o.examples[i].messages, cfg.max_prompt_length));
      if (e.truncated) o.counts.truncatedPrompts++;
      return e;
    });
    const promptIds = enc.flatMap((e) => Array.from({ length: G }, () => e.ids));
    const gen = await model.generate(promptIds, {
      maxNewTokens: cfg.max_completion_length,
      rng: o.rng,
      lora,
      temperature: cfg.temperature,
      topP: cfg.top_p,
      topK: cfg.top_k,
      quantization: cfg.rollout_quantization,
      returnLogprobs: cfg.rollout_quantization !== "none",
    });
    enc.forEach((e, j) => {
      const rows = Array.from({ length: G }, (_, k) => j * G + k);
      const samples = rows.map((r) => ({
        example: idx[j],
        prompt: e.text,
        rewardPrompt: o.examples[idx[j]].promptText ?? e.text,
        completion: tok.decode(gen.tokens[r], { skipSpecialTokens: true }),
        length: gen.tokens[r].length,
        terminated: gen.finished[r],
      }));
      for (const r of rows) o.counts.tokens += e.ids.length + gen.tokens[r].length;
      groups.push({
        example: idx[j],
        ids: e.ids,
        tokens: rows.map((r) => gen.tokens[r]),
        ...(gen.logprobs ? { logprobs: rows.map((r) => gen.logprobs![r]) } : {}),
        samples,
        scores: [],
        std: 0,
      });
    });
  }
  const samples = groups.flatMap((g) => g.samples);
  const ex = samples.map((s) => o.examples[s.example]);
  const ctx: RewardContext = {
    prompts: samples.map((s) => s.rewardPrompt),
    completions: samples.map((s) => s.completion),
  };
  if (ex.every((e) => e.answer !== undefined)) ctx.answers = ex.map((e) => e.answer!);
  if (ex.every((e) => e.reference !== undefined)) ctx.references = ex.map((e) => e.reference!);
  const t0 = performance.now();
  const scored = await computeRewards(o.rewards, ctx, { weights: cfg.reward_weights ?? undefined });
  o.counts.rewardSeconds += (performance.now() - t0) / 1000;
  const per = o.rewards.map((r) => scored.perFunction[r.name]);
  const { groupStd } = combineRewards(per, rewardOptions(cfg));
  groups.forEach((g, i) => {
    g.scores = per.map((f) => f.slice(i * G, (i + 1) * G));
    g.std = groupStd[i];
  });
  return groups;
}

function rewardOptions(cfg: GrpoConfig) {
  return {
    weights: cfg.reward_weights ?? cfg.reward_funcs.map(() => 1),
    groupSize: cfg.num_generations,
    scale: cfg.scale_rewards,
    aggregation: cfg.multi_objective_aggregation,
  };
}

/**
 * Samples, scores and prepares the rollouts of one optimizer step. With `dynamic_sampling`, groups with
 * zero reward spread are dropped and new prompts (`morePrompts`) generated for, at most
 * `dynamic_sampling_max_rounds` extra rounds; a batch that stays short trains on the groups it has (all
 * first-round groups when none had spread), and `dynamic` says so.
 */
export async function collectRollouts(
  model: CausalLM,
  lora: LoraAdapter,
  o: CollectOptions,
): Promise<RolloutBatch> {
  const cfg = o.config, G = cfg.num_generations;
  const start = performance.now();
  const counts = { truncatedPrompts: 0, tokens: 0, rewardSeconds: 0 };
  const go = { ...o, cache: o.promptCache ?? new Map<number, EncodedPrompt>(), counts };
  const first = await generateGroups(model, lora, o.indices, go);
  const fracRewardZeroStd = first.length - groupsWithSpread(first.map((g) => g.std)).length;
  let groups = first, dynamic: DynamicSamplingStats | undefined;
  if (cfg.dynamic_sampling) {
    const target = first.length, spread = (gs: Group[]) => gs.filter((g) => groupsWithSpread([g.std]).length);
    const kept = spread(first);
    let rounds = 0, extra = 0, dropped = first.length - kept.length;
    while (kept.length < target && rounds < cfg.dynamic_sampling_max_rounds && o.morePrompts) {
      rounds++;
      const more = await generateGroups(model, lora, o.morePrompts(target - kept.length), go);
      extra += more.length * G;
      const ok = spread(more);
      dropped += more.length - ok.length;
      kept.push(...ok.slice(0, target - kept.length));
    }
    groups = kept.length ? kept : first;
    dynamic = {
      rounds,
      extraGenerations: extra,
      targetGroups: target,
      trainGroups: groups.length,
      droppedGroups: dropped,
      filled: kept.length >= target,
    };
  }
  const samples = groups.flatMap((g) => g.samples);
  const perFunction = o.rewards.map((_, k) => groups.flatMap((g) => g.scores[k]));
  const combined = combineRewards(perFunction, rewardOptions(cfg));
  const rewards: RewardScores = {
    perFunction: Object.fromEntries(o.rewards.map((r, k) => [r.name, perFunction[k]])),
    total: combined.total,
    unscorable: combined.unscorable,
  };
  const perMicro = cfg.per_device_train_batch_size / G, rows = cfg.per_device_train_batch_size;
  const micro: MicroBatch[] = [];
  let maskedTruncated = 0, referenceSeconds = 0;
  for (let m = 0; m * perMicro < groups.length; m++) {
    const part = groups.slice(m * perMicro, (m + 1) * perMicro);
    const { batch, completionMask, promptWidth } = assembleBatch(
      part.flatMap((g) => g.tokens.map(() => g.ids)),
      part.flatMap((g) => g.tokens),
      model.tok.padTokenId,
    );
    if (cfg.mask_truncated_completions) {
      part.flatMap((g) => g.samples).forEach((smp, r) => {
        if (smp.terminated) return;
        maskedTruncated++;
        completionMask.fill(0, r * batch.length, (r + 1) * batch.length);
      });
    }
    const mb: MicroBatch = {
      batch,
      completionMask,
      advantages: combined.advantages.slice(m * rows, (m + 1) * rows),
    };
    if (part.every((g) => g.logprobs)) {
      mb.sampling = samplingLogprobs(part.flatMap((g) => g.logprobs!), batch.length, promptWidth);
    }
    if (cfg.beta > 0) {
      const t0 = performance.now();
      mb.ref = (await model.logprobs(mb.batch, null)).logprobs;
      referenceSeconds += (performance.now() - t0) / 1000;
    }
    if (o.policyPass ?? true) {
      const p = await model.logprobs(mb.batch, lora);
      mb.old = p.logprobs;
      mb.entropy = p.entropy;
    }
    micro.push(mb);
  }
  return {
    micro,
    samples,
    rewards,
    advantages: combined.advantages,
    groupStd: combined.groupStd,
    zeroStdGroups: combined.zeroStdGroups,
    fracRewardZeroStd: fracRewardZeroStd / Math.max(1, first.length),
    dynamic,
    maskedTruncated: cfg.mask_truncated_completions ? maskedTruncated : undefined,
    truncatedPrompts: counts.truncatedPrompts,
    tokens: counts.tokens,
    referenceSeconds,
    timing: {
      rollout_s: (performance.now() - start) / 1000 - counts.rewardSeconds,
      reward_s: counts.rewardSeconds,
    },
  };
}

/**
 * Per-token sampling log-probs `[B·T]` in next-token alignment: completion token k of row r sits at
 * position `promptWidth + k`, so its log-prob goes to `promptWidth + k − 1`.
 */
export function samplingLogprobs(logprobs: number[][], length: number, promptWidth: number): Float32Array {
  const out = new Float32Array(logprobs.length * length);
  logprobs.forEach((row, r) => row.forEach((lp, k) => (out[r * length + promptWidth + k - 1] = lp)));
  return out;
}
