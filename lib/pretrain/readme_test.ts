import { tinyReadme } from "./readme.ts";
import { TINY_SIZES } from "./tiny.ts";
import { assert } from "../util/assert.ts";

const opts = {
  steps: 3000,
  batchSize: 24,
  lr: 0.002,
  warmup: 50,
  minLrRatio: 0.1,
  weightDecay: 0.01,
  maxGradNorm: 1,
  seed: 0,
  evalEvery: 250,
  stopAtAccuracy: 0.45,
};
const evaluation = {
  n: 200,
  k: 4,
  report: [
    "held-out problems: 200",
    "strict accuracy     10.0%  [6.6, 14.9]  (20/200, greedy, <answer> slot only)",
    "lenient accuracy    55.0%  [48.1, 61.7]  (110/200, greedy, fallback chain)",
    "format rate         15.0%  [10.7, 20.6]  (30/200, greedy)",
    "mean@4              25.0%  [19.5, 31.4]  (4 samples per problem, strict)",
  ],
};

Deno.test("tinyReadme: both stages, the starting numbers with intervals, and whether stage 1 was rerun", () => {
  const base = {
    command: "deno task pretrain",
    sizes: { ...TINY_SIZES, vocabSize: 1024 },
    nParams: 3.02e6,
    stage1: { options: opts, steps: 2250, minutes: 27 },
    stage2: {
      options: { ...opts, steps: 300, lr: 0.001, warmup: 20 },
      steps: 300,
      minutes: 6,
      taggedShare: 0.4,
    },
    evaluation,
    minutes: 35,
  };
  const fresh = tinyReadme(base);
  for (const s of ["2250 steps", "40 %", "10.0%", "55.0%", "15.0%", "mean@4", "(20/200", "[", "Stage 2"]) {
    assert(fresh.includes(s), `README lacks ${s}`);
  }
  assert(!fresh.includes("not rerun"));
  const cont = tinyReadme({ ...base, stage1: { ...base.stage1, minutes: null }, stage1From: "data/tiny" });
  assert(cont.includes("**not rerun**") && cont.includes("`data/tiny`"));
});
