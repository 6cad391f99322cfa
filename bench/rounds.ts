/**
 * Timed rounds of the benchmark: GRPO training steps on the bench case and decoding in four variants,
 * interleaved per round so a change in the machine's load hits every variant alike. Each variant reports
 * the median over its rounds with the min–max and is flagged when its spread exceeds ±15 % of the median;
 * every round records what else happened in it (other processes' CPU share, page faults, involuntary context
 * switches), so a flagged spread can be traced to its cause.
 * @module
 */
import { WORK } from "./workload.ts";
import { otherShare, readCpu } from "./machine.ts";
import { adamwInit, adamwStep, CausalLM, clipGradNorm, type RolloutQuantization } from "../lib/model/mod.ts";
import { grpoStep, readOracleStepInputs } from "../lib/grpo/mod.ts";
import { median, Rng } from "../lib/util/mod.ts";

/** A variant whose spread exceeds this share of its median is flagged. */
export const SPREAD_LIMIT = 0.15;

/** Median, min–max and spread of one variant's rounds. */
export interface RoundStats {
  median: number;
  min: number;
  max: number;
  /** Largest distance of a round from the median, as a share of the median. */
  spread: number;
  /** Spread above {@linkcode SPREAD_LIMIT}. */
  unstable: boolean;
  rounds: number[];
}

/** Median, min–max and spread of `values` (at least one). */
export function summarize(values: number[]): RoundStats {
  const med = median(values), min = Math.min(...values), max = Math.max(...values);
  const spread = med > 0 ? Math.max(med - min, max - med) / med : 0;
  return { median: med, min, max, spread, unstable: spread > SPREAD_LIMIT, rounds: values };
}

/** `117.5 (108.1–130.2)`, with ` ±SPREAD UNSTABLE` when flagged. */
export function formatStats(s: RoundStats, digits = 1): string {
  const base = `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
  return s.unstable ? `${base} ±${(100 * s.spread).toFixed(0)}% UNSTABLE` : base;
}

/** What else happened during one round. */
export interface RoundContext {
  /** Other processes' share of the machine's CPU (null without /proc). */
  other_cpu_share: number | null;
  /** Page faults of this process (minor + major). */
  page_faults: number;
  /** Times this process's threads were descheduled against their will. */
  involuntary_switches: number;
}

function selfCounters(): { faults: number; switches: number } {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(/\s+/); // f[0] = field 3
    let switches = 0;
    for (const task of Deno.readDirSync("/proc/self/task")) {
      const m = Deno.readTextFileSync(`/proc/self/task/${task.name}/status`).match(
        /nonvoluntary_ctxt_switches:\s+(\d+)/,
      );
      switches += m ? Number(m[1]) : 0;
    }
    return { faults: Number(f[7]) + Number(f[9]), switches };
  } catch {
    return { faults: 0, switches: 0 };
  }
}

/** Runs `fn`, returning its result with the round's context. */
async function observed<T>(fn: () => Promise<T>): Promise<{ value: T; context: RoundContext }> {
  const c0 = readCpu(), s0 = selfCounters();
  const value = await fn();
  const c1 = readCpu(), s1 = selfCounters();
  return {
    value,
    context: {
      other_cpu_share: otherShare(c0, c1),
      page_faults: s1.faults - s0.faults,
      involuntary_switches: s1.switches - s0.switches,
    },
  };
}

/** Seconds of the GRPO step on the bench case: every round after one warm-up, and the first of them. */
export async function timeTrainStep(
  model: CausalLM,
  { casePath, rounds }: { casePath: string; rounds: number },
): Promise<{ stats: RoundStats; first: number; contexts: RoundContext[] }> {
  const { lora, step } = await readOracleStepInputs(casePath, {
    baseModel: model.dir,
  });
  const state = adamwInit(lora.tensors);
  const times: number[] = [], contexts: RoundContext[] = [];
  for (let i = 0; i <= rounds; i++) {
    const t0 = performance.now();
    const { context } = await observed(async () => {
      // no `ref`: the reference pass runs inside the GRPO graph (one session, one copy of the weights)
      const { grads } = await grpoStep(model, step);
      clipGradNorm(grads, 1);
      adamwStep(lora.tensors, grads, {
        lr: 1e-5,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: 0,
        state,
      });
    });
    const dt = (performance.now() - t0) / 1000;
    if (i > 0) times.push(dt), contexts.push(context);
    console.error(`  train step ${i === 0 ? "(warm-up)" : i}: ${dt.toFixed(2)} s`);
  }
  return { stats: summarize(times), first: times[0], contexts };
}

/** One decoding setup: the graph and the base weights' precision. */
export interface DecodeVariant {
  name: string;
  graph: "fast" | "standard";
  quantization: RolloutQuantization;
}

/** The decode variants, timed interleaved. */
export const DECODE_VARIANTS: DecodeVariant[] = [
  { name: "fast", graph: "fast", quantization: "none" },
  { name: "standard", graph: "standard", quantization: "none" },
  { name: "int8", graph: "fast", quantization: "int8" },
  { name: "int4", graph: "fast", quantization: "int4" },
];

/** One variant's decode rate over the rounds, the warm-up's wall time and each round's context. */
export interface DecodeTiming {
  stats: RoundStats;
  warmupS: number;
  contexts: RoundContext[];
}

/**
 * New tokens per second for 8 × 128 sampled tokens after 64-token prompts, per variant, over `rounds` rounds
 * after one warm-up round (which builds the sessions; its wall time is reported), the variants interleaved.
 */
export async function timeDecode(model: CausalLM, rounds: number): Promise<Record<string, DecodeTiming>> {
  const rng = new Rng(0);
  const prompts = Array.from(
    { length: WORK.batch },
    () => Array.from({ length: WORK.prompt }, () => 2 + rng.int(model.config.vocabSize - 2)),
  );
  const rates = new Map<string, number[]>(), warm = new Map<string, number>();
  const contexts = new Map<string, RoundContext[]>();
  for (let i = 0; i <= rounds; i++) {
    for (const v of DECODE_VARIANTS) {
      const t0 = performance.now();
      const { value: r, context } = await observed(() =>
        model.generate(prompts, {
          maxNewTokens: WORK.completion,
          rng,
          stopAtEos: false,
          graph: v.graph,
          quantization: v.quantization,
        })
      );
      const n = r.tokens.reduce((a, t) => a + t.length, 0);
      const dt = (performance.now() - t0) / 1000;
      if (i === 0) warm.set(v.name, dt);
      else {
        rates.set(v.name, [...(rates.get(v.name) ?? []), n / dt]);
        contexts.set(v.name, [...(contexts.get(v.name) ?? []), context]);
      }
      console.error(
        `  decode ${v.name} ${i === 0 ? "(warm-up, builds the session)" : i}: ${
          (n / dt).toFixed(1)
        } tokens/s`,
      );
    }
  }
  return Object.fromEntries(DECODE_VARIANTS.map((v) => [v.name, {
    stats: summarize(rates.get(v.name)!),
    warmupS: warm.get(v.name)!,
    contexts: contexts.get(v.name)!,
  }]));
}

/** One line per flagged variant: its rounds and what else happened in each (to look for the cause). */
export function explainUnstable(name: string, t: { stats: RoundStats; contexts: RoundContext[] }): string {
  const rounds = t.stats.rounds.map((v, i) => {
    const c = t.contexts[i];
    const other = c.other_cpu_share === null ? "n/a" : `${(100 * c.other_cpu_share).toFixed(0)}%`;
    return `${
      v.toFixed(1)
    } (others ${other} CPU, ${c.page_faults} faults, ${c.involuntary_switches} preemptions)`;
  });
  return `${name}: spread ±${(100 * t.stats.spread).toFixed(0)}% of the median; rounds ${rounds.join(", ")}`;
}
