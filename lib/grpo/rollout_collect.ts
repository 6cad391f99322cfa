/**
 * Collecting one step's rollouts ({@linkcode collectRollouts}): one `generate` call per micro-batch (each
 * prompt repeated `num_generations` times), rewards (null = not applicable) and advantages, DAPO dynamic
 * sampling, `mask_truncated_completions`, and the no-grad passes (reference log-probs when `beta > 0`; the
 * policy's log-probs and entropies, which are the "old" log-probs when `num_iterations > 1`).
 * @module
 */
import type { CausalLM, LoraAdapter } from "../model/mod.ts";
import {
  computeRewards,
  type RewardContext,
  type RewardFunction,
  type RewardScores,
} from "../rewards/mod.ts";
import type { Rng } from "../util/mod.ts";
import type { GrpoConfig } from "./config_table.ts";
import { combineRewards, groupsWithSpread } from "./objective.ts";
import {
  assembleBatch,
  type DynamicSamplingStats,
  type EncodedPrompt,
  encodePrompt,
  type MicroBatch,
  type RolloutBatch,
  type Sample,
  samplingLogprobs,
  type TrainExample,
} from "./rollout.ts";

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
  const cfg = o.config, start = performance.now();
  const gen: Gen = {
    model,
    lora,
    o,
    cache: o.promptCache ?? new Map<number, EncodedPrompt>(),
    counts: { truncatedPrompts: 0, tokens: 0, rewardSeconds: 0 },
  };
  const first = await generateGroups(gen, o.indices);
  const zeroSpread = first.length - groupsWithSpread(first.map((g) => g.std)).length;
  const { groups, dynamic } = cfg.dynamic_sampling
    ? await dynamicSampling(gen, first)
    : { groups: first, dynamic: undefined };
  const perFunction = o.rewards.map((_, k) => groups.flatMap((g) => g.scores[k]));
  const combined = combineRewards(perFunction, rewardOptions(cfg));
  const rewards: RewardScores = {
    perFunction: Object.fromEntries(o.rewards.map((r, k) => [r.name, perFunction[k]])),
    total: combined.total,
    unscorable: combined.unscorable,
  };
  const passes = await microBatches(gen, { groups, advantages: combined.advantages });
  return {
    micro: passes.micro,
    samples: groups.flatMap((g) => g.samples),
    rewards,
    advantages: combined.advantages,
    groupStd: combined.groupStd,
    zeroStdGroups: combined.zeroStdGroups,
    fracRewardZeroStd: zeroSpread / Math.max(1, first.length),
    dynamic,
    maskedTruncated: cfg.mask_truncated_completions ? passes.maskedTruncated : undefined,
    truncatedPrompts: gen.counts.truncatedPrompts,
    tokens: gen.counts.tokens,
    referenceSeconds: passes.referenceSeconds,
    timing: {
      rollout_s: (performance.now() - start) / 1000 - gen.counts.rewardSeconds,
      reward_s: gen.counts.rewardSeconds,
    },
  };
}

/** What generating groups needs, and the counters it keeps. */
interface Gen {
  model: CausalLM;
  lora: LoraAdapter;
  o: CollectOptions;
  cache: Map<number, EncodedPrompt>;
  counts: { truncatedPrompts: number; tokens: number; rewardSeconds: number };
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
async function generateGroups(gen: Gen, indices: readonly number[]): Promise<Group[]> {
  const perMicro = gen.o.config.per_device_train_batch_size / gen.o.config.num_generations;
  const groups: Group[] = [];
  for (let m = 0; m * perMicro < indices.length; m++) {
    groups.push(...await sampleGroups(gen, indices.slice(m * perMicro, (m + 1) * perMicro)));
  }
  await scoreGroups(gen, groups);
  return groups;
}

/** One `generate` call for the prompts of `idx`, `num_generations` completions each. */
async function sampleGroups(gen: Gen, idx: readonly number[]): Promise<Group[]> {
  const { o, model } = gen, cfg = o.config, G = cfg.num_generations, tok = model.tok;
  const enc = idx.map((i) => {
    let e = gen.cache.get(i);
    if (!e) {
      gen.cache.set(i, e = encodePrompt(tok, o.examples[i].messages, { maxLength: cfg.max_prompt_length }));
    }
    if (e.truncated) gen.counts.truncatedPrompts++;
    return e;
  });
  const out = await model.generate(enc.flatMap((e) => Array.from({ length: G }, () => e.ids)), {
    maxNewTokens: cfg.max_completion_length,
    rng: o.rng,
    lora: gen.lora,
    temperature: cfg.temperature,
    topP: cfg.top_p,
    topK: cfg.top_k,
    quantization: cfg.rollout_quantization,
    returnLogprobs: cfg.rollout_quantization !== "none",
  });
  return enc.map((e, j) => {
    const rows = Array.from({ length: G }, (_, k) => j * G + k);
    for (const r of rows) gen.counts.tokens += e.ids.length + out.tokens[r].length;
    return {
      example: idx[j],
      ids: e.ids,
      tokens: rows.map((r) => out.tokens[r]),
      ...(out.logprobs ? { logprobs: rows.map((r) => out.logprobs![r]) } : {}),
      samples: rows.map((r) => ({
        example: idx[j],
        prompt: e.text,
        rewardPrompt: o.examples[idx[j]].promptText ?? e.text,
        completion: tok.decode(out.tokens[r], { skipSpecialTokens: true }),
        length: out.tokens[r].length,
        terminated: out.finished[r],
      })),
      scores: [],
      std: 0,
    };
  });
}

/** Scores every completion of `groups` with the rewards and sets each group's scores and reward spread. */
async function scoreGroups(gen: Gen, groups: Group[]): Promise<void> {
  const { o } = gen, cfg = o.config, G = cfg.num_generations;
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
  gen.counts.rewardSeconds += (performance.now() - t0) / 1000;
  const per = o.rewards.map((r) => scored.perFunction[r.name]);
  const { groupStd } = combineRewards(per, rewardOptions(cfg));
  groups.forEach((g, i) => {
    g.scores = per.map((f) => f.slice(i * G, (i + 1) * G));
    g.std = groupStd[i];
  });
}

function rewardOptions(cfg: GrpoConfig) {
  return {
    weights: cfg.reward_weights ?? cfg.reward_funcs.map(() => 1),
    groupSize: cfg.num_generations,
    scale: cfg.scale_rewards,
    aggregation: cfg.multi_objective_aggregation,
  };
}

/** DAPO dynamic sampling: keeps the groups of `first` with reward spread and refills with new prompts. */
async function dynamicSampling(
  gen: Gen,
  first: Group[],
): Promise<{ groups: Group[]; dynamic: DynamicSamplingStats }> {
  const cfg = gen.o.config, target = first.length;
  const spread = (gs: Group[]) => gs.filter((g) => groupsWithSpread([g.std]).length);
  const kept = spread(first);
  let rounds = 0, extra = 0, dropped = first.length - kept.length;
  while (kept.length < target && rounds < cfg.dynamic_sampling_max_rounds && gen.o.morePrompts) {
    rounds++;
    const more = await generateGroups(gen, gen.o.morePrompts(target - kept.length));
    extra += more.length * cfg.num_generations;
    const ok = spread(more);
    dropped += more.length - ok.length;
    kept.push(...ok.slice(0, target - kept.length));
  }
  const groups = kept.length ? kept : first;
  return {
    groups,
    dynamic: {
      rounds,
      extraGenerations: extra,
      targetGroups: target,
      trainGroups: groups.length,
      droppedGroups: dropped,
      filled: kept.length >= target,
    },
  };
}

/**
 * The micro-batches of `groups` (per_device_train_batch_size rows each) with their advantages, masks
 * (`mask_truncated_completions`), sampling log-probs (quantized rollouts) and no-grad passes.
 */
async function microBatches(
  gen: Gen,
  o: { groups: Group[]; advantages: number[] },
): Promise<{ micro: MicroBatch[]; maskedTruncated: number; referenceSeconds: number }> {
  const cfg = gen.o.config, rows = cfg.per_device_train_batch_size, perMicro = rows / cfg.num_generations;
  const micro: MicroBatch[] = [];
  let maskedTruncated = 0, referenceSeconds = 0;
  for (let m = 0; m * perMicro < o.groups.length; m++) {
    const part = o.groups.slice(m * perMicro, (m + 1) * perMicro);
    const { batch, completionMask, promptWidth } = assembleBatch(
      part.flatMap((g) => g.tokens.map(() => g.ids)),
      part.flatMap((g) => g.tokens),
      { pad: gen.model.tok.padTokenId },
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
      advantages: o.advantages.slice(m * rows, (m + 1) * rows),
    };
    if (part.every((g) => g.logprobs)) {
      mb.sampling = samplingLogprobs(part.flatMap((g) => g.logprobs!), { length: batch.length, promptWidth });
    }
    referenceSeconds += await noGradPasses(gen, mb);
    micro.push(mb);
  }
  return { micro, maskedTruncated, referenceSeconds };
}

/** The no-grad passes of `mb`: reference log-probs (beta > 0) and the policy's; returns the reference seconds. */
async function noGradPasses(gen: Gen, mb: MicroBatch): Promise<number> {
  let referenceSeconds = 0;
  if (gen.o.config.beta > 0) {
    const t0 = performance.now();
    mb.ref = (await gen.model.logprobs(mb.batch, null)).logprobs;
    referenceSeconds = (performance.now() - t0) / 1000;
  }
  if (gen.o.policyPass ?? true) {
    const p = await gen.model.logprobs(mb.batch, gen.lora);
    mb.old = p.logprobs;
    mb.entropy = p.entropy;
  }
  return referenceSeconds;
}
