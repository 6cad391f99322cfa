/**
 * The project's own offline math set: GSM8K-style word problems with 1–3 arithmetic steps
 * (+, −, ×, exact ÷; every intermediate result a non-negative integer), drawn from many themes,
 * names, objects and phrasings, deterministic by seed. Also the training target format.
 * The dialogue set and the held-out split live in sibling files and are re-exported here.
 * @module
 */
import { ensure, Rng } from "../util/mod.ts";
import type { MathExample } from "./types.ts";

export { generateDialogues, type GenerateDialoguesOptions } from "./generated_dialogues.ts";
export { splitHeldOut, type SplitHeldOutOptions } from "./split.ts";

/** Options of {@linkcode generateMathProblems}. */
export interface GenerateMathOptions {
  /** RNG seed; equal seeds give equal problems. */
  seed: number;
  /** Fewest arithmetic steps per problem (default 1). */
  minSteps?: number;
  /** Most arithmetic steps per problem (default 3). */
  maxSteps?: number;
  /** Largest operand for + and − and the largest starting amount (default 20). */
  maxValue?: number;
  /** Largest multiplier / divisor (default 5). */
  maxFactor?: number;
  /** Largest intermediate or final result (default 200). */
  maxResult?: number;
}

type Op = "add" | "sub" | "mul" | "div";

interface Ctx {
  name: string;
  he: string;
  He: string;
  him: string;
  his: string;
  His: string;
  item: string;
  other: string;
}

type Phrase = (c: Ctx, k: number) => string;

interface Theme {
  items: readonly string[];
  start: Phrase;
  /** Start as a product a × b: (c, a, b). */
  product?: ((c: Ctx, a: number, b: number) => string)[];
  add: Phrase[];
  sub: Phrase[];
  mul: Phrase[];
  div: Phrase[];
  question: ((c: Ctx) => string)[];
}

const NAMES: readonly [string, "f" | "m"][] = [
  ["Mia", "f"],
  ["Leo", "m"],
  ["Ava", "f"],
  ["Noah", "m"],
  ["Zoe", "f"],
  ["Omar", "m"],
  ["Lena", "f"],
  ["Ravi", "m"],
  ["Sara", "f"],
  ["Tom", "m"],
  ["Nina", "f"],
  ["Ben", "m"],
  ["Aisha", "f"],
  ["Carlos", "m"],
  ["Emma", "f"],
  ["Kofi", "m"],
  ["Yuki", "f"],
  ["Ivan", "m"],
  ["Priya", "f"],
  ["Sam", "m"],
  ["Hana", "f"],
  ["Diego", "m"],
  ["Olga", "f"],
  ["Felix", "m"],
];

const THINGS = [
  "apples",
  "marbles",
  "stickers",
  "cookies",
  "pencils",
  "seashells",
  "stamps",
  "balloons",
  "crayons",
  "cards",
  "books",
  "eggs",
  "buttons",
  "shells",
  "beads",
  "toy cars",
] as const;
const STOCK = [
  "shirts",
  "hats",
  "lamps",
  "cups",
  "plates",
  "chairs",
  "kites",
  "mugs",
  "bags",
  "candles",
] as const;

const THEMES: readonly Theme[] = [
  {
    items: THINGS,
    start: (c, n) => `${c.name} has ${n} ${c.item}.`,
    product: [
      (c, a, b) => `${c.name} buys ${a} bags of ${c.item} with ${b} ${c.item} in each bag.`,
      (c, a, b) => `${c.name} has ${a} boxes, and each box holds ${b} ${c.item}.`,
    ],
    add: [
      (c, k) => `${c.He} buys ${k} more ${c.item}.`,
      (c, k) => `${c.other} gives ${c.him} ${k} ${c.item}.`,
      (c, k) => `${c.He} finds ${k} more ${c.item}.`,
    ],
    sub: [
      (c, k) => `${c.He} gives ${k} ${c.item} to ${c.other}.`,
      (c, k) => `${c.He} loses ${k} ${c.item}.`,
      (c, k) => `${c.He} trades away ${k} of the ${c.item}.`,
    ],
    mul: [(c, k) => `By the end of the month ${c.he} has ${k} times as many ${c.item} as before.`],
    div: [
      (c, k) => `${c.He} splits the ${c.item} equally into ${k} piles and keeps one pile.`,
      (c, k) =>
        `${c.He} and ${
          k === 2 ? "a friend" : `${k - 1} friends`
        } share the ${c.item} equally, and ${c.he} keeps ${c.his} share.`,
    ],
    question: [
      (c) => `How many ${c.item} does ${c.name} have now?`,
      (c) => `How many ${c.item} does ${c.name} end up with?`,
    ],
  },
  {
    items: ["dollars"],
    start: (c, n) => `${c.name} has $${n}.`,
    product: [
      (c, a, b) => `${c.name} saves $${b} each week for ${a} weeks.`,
      (c, a, b) => `${c.name} works ${a} hours and earns $${b} per hour.`,
    ],
    add: [
      (c, k) => `${c.He} earns $${k} walking dogs.`,
      (c, k) => `${c.other} gives ${c.him} $${k}.`,
      (c, k) => `${c.He} gets $${k} for ${c.his} birthday.`,
    ],
    sub: [
      (c, k) => `${c.He} spends $${k} on a book.`,
      (c, k) => `${c.He} pays $${k} for lunch.`,
      (c, k) => `${c.He} buys a toy for $${k}.`,
    ],
    mul: [(c, k) => `${c.His} savings then grow to ${k} times as much.`],
    div: [(c, k) => `${c.He} splits the money equally into ${k} envelopes and keeps one envelope.`],
    question: [
      (c) => `How many dollars does ${c.name} have now?`,
      (c) => `How much money, in dollars, does ${c.name} have left?`,
    ],
  },
  {
    items: ["pages"],
    start: (c, n) => `${c.name} has read ${n} pages of a novel.`,
    product: [(c, a, b) => `${c.name} reads ${b} pages every day for ${a} days.`],
    add: [
      (c, k) => `${c.He} reads ${k} more pages.`,
      (c, k) => `The next day ${c.he} reads another ${k} pages.`,
    ],
    sub: [],
    mul: [(c, k) => `By the end of the month ${c.he} has read ${k} times that many pages.`],
    div: [],
    question: [(c) => `How many pages has ${c.name} read in total?`],
  },
  {
    items: ["pages"],
    start: (_c, n) => `A book has ${n} pages.`,
    add: [(_c, k) => `The author adds a bonus chapter of ${k} pages.`],
    sub: [
      (c, k) => `On Monday ${c.name} reads ${k} pages.`,
      (c, k) => `Then ${c.name} reads ${k} pages.`,
      (c, k) => `${c.name} reads ${k} pages before bed.`,
    ],
    mul: [],
    div: [],
    question: [(c) => `How many pages does ${c.name} still have to read?`],
  },
  {
    items: ["minutes"],
    start: (c, n) => `${c.name} has ${n} minutes before dinner.`,
    add: [(_c, k) => `Dinner is delayed by ${k} minutes.`],
    sub: [
      (c, k) => `${c.He} spends ${k} minutes on homework.`,
      (c, k) => `${c.He} spends ${k} minutes tidying ${c.his} room.`,
      (c, k) => `${c.He} plays a game for ${k} minutes.`,
    ],
    mul: [],
    div: [],
    question: [(c) => `How many minutes are left before dinner for ${c.name}?`],
  },
  {
    items: ["minutes"],
    start: (c, n) => `${c.name} practices the piano for ${n} minutes.`,
    product: [(c, a, b) => `${c.name} practices the piano for ${b} minutes a day for ${a} days.`],
    add: [(c, k) => `Then ${c.he} practices ${k} more minutes.`],
    sub: [],
    mul: [(c, k) => `Over the whole month ${c.he} practices ${k} times that long.`],
    div: [],
    question: [(c) => `How many minutes does ${c.name} practice in total?`],
  },
  {
    items: STOCK,
    start: (c, n) => `A shop has ${n} ${c.item} in stock.`,
    product: [(c, a, b) => `A shop gets ${a} crates of ${c.item} with ${b} ${c.item} in each crate.`],
    add: [
      (c, k) => `A delivery brings ${k} more ${c.item}.`,
      (c, k) => `${c.name} makes ${k} more ${c.item}.`,
    ],
    sub: [(c, k) => `Customers buy ${k} ${c.item}.`, (c, k) => `${k} ${c.item} are sold in the morning.`],
    mul: [(c, k) => `After a big order the shop has ${k} times as many ${c.item}.`],
    div: [(c, k) => `The ${c.item} are split equally among ${k} stores, and this shop keeps one share.`],
    question: [(c) => `How many ${c.item} does the shop have now?`],
  },
  {
    items: ["passengers"],
    start: (_c, n) => `A bus has ${n} passengers.`,
    product: [(_c, a, b) => `A bus has ${a} rows of seats with ${b} passengers in each row.`],
    add: [(_c, k) => `At the next stop ${k} people get on.`, (_c, k) => `Then ${k} more passengers get on.`],
    sub: [(_c, k) => `At the next stop ${k} people get off.`, (_c, k) => `Then ${k} passengers get off.`],
    mul: [],
    div: [],
    question: [() => `How many passengers are on the bus now?`],
  },
];

function context(rng: Rng, theme: Theme): Ctx {
  const [name, g] = rng.pick(NAMES);
  let other = rng.pick(NAMES)[0];
  while (other === name) other = rng.pick(NAMES)[0];
  const p = g === "f" ? ["she", "her", "her"] : ["he", "him", "his"];
  const cap = (s: string) => s[0].toUpperCase() + s.slice(1);
  return {
    name,
    he: p[0],
    He: cap(p[0]),
    him: p[1],
    his: p[2],
    His: cap(p[2]),
    item: rng.pick(theme.items),
    other,
  };
}

const WEIGHTS: Record<Op, number> = { add: 3, sub: 3, mul: 1, div: 1 };

/** Applies one random feasible operation to x; returns null when none fits the limits. */
function step(
  rng: Rng,
  theme: Theme,
  x: number,
  o: Required<Omit<GenerateMathOptions, "seed">>,
  used: Set<Phrase>,
): { op: Op; k: number; y: number } | null {
  const cands: { op: Op; k: number; y: number }[] = [];
  const fresh = (op: Op) => theme[op].some((p) => !used.has(p));
  if (fresh("add") && x + 2 <= o.maxResult) {
    const k = rng.range(2, Math.min(o.maxValue, o.maxResult - x));
    cands.push({ op: "add", k, y: x + k });
  }
  if (fresh("sub") && x >= 3) {
    const k = rng.range(2, Math.min(o.maxValue, x - 1));
    cands.push({ op: "sub", k, y: x - k });
  }
  if (fresh("mul") && x >= 1 && x * 2 <= o.maxResult) {
    const k = rng.range(2, Math.max(2, Math.min(o.maxFactor, Math.floor(o.maxResult / x))));
    cands.push({ op: "mul", k, y: x * k });
  }
  const divisors: number[] = [];
  for (let k = 2; k <= o.maxFactor; k++) if (x % k === 0 && x / k >= 1) divisors.push(k);
  if (fresh("div") && divisors.length) {
    const k = rng.pick(divisors);
    cands.push({ op: "div", k, y: x / k });
  }
  if (!cands.length) return null;
  let r = rng.float() * cands.reduce((s, c) => s + WEIGHTS[c.op], 0);
  for (const c of cands) {
    r -= WEIGHTS[c.op];
    if (r < 0) return c;
  }
  return cands[cands.length - 1];
}

const SYMBOL: Record<Op, string> = { add: "+", sub: "-", mul: "*", div: "/" };

function checkOptions(opts: GenerateMathOptions): Required<Omit<GenerateMathOptions, "seed">> {
  const o = {
    minSteps: opts.minSteps ?? 1,
    maxSteps: opts.maxSteps ?? 3,
    maxValue: opts.maxValue ?? 20,
    maxFactor: opts.maxFactor ?? 5,
    maxResult: opts.maxResult ?? 200,
  };
  for (const [k, v] of Object.entries(o)) {
    ensure(Number.isInteger(v), `generateMathProblems: ${k} must be an integer, got ${v}`);
  }
  ensure(o.minSteps >= 1, `generateMathProblems: minSteps must be ≥ 1, got ${o.minSteps}`);
  ensure(
    o.maxSteps >= o.minSteps,
    `generateMathProblems: maxSteps (${o.maxSteps}) < minSteps (${o.minSteps})`,
  );
  ensure(o.maxValue >= 2, `generateMathProblems: maxValue must be ≥ 2, got ${o.maxValue}`);
  ensure(o.maxFactor >= 2, `generateMathProblems: maxFactor must be ≥ 2, got ${o.maxFactor}`);
  ensure(
    o.maxResult >= o.maxValue * 2,
    `generateMathProblems: maxResult must be ≥ 2·maxValue, got ${o.maxResult}`,
  );
  return o;
}

/**
 * Generates `n` word problems, deterministic by `seed`. Each has 1–3 (configurable) arithmetic
 * steps; `solution` holds one line per step such as `5 + 3 = 8`, and `answer` the final number.
 */
export function generateMathProblems(n: number, options: GenerateMathOptions): MathExample[] {
  ensure(Number.isInteger(n) && n >= 0, `generateMathProblems: n must be a non-negative integer, got ${n}`);
  const o = checkOptions(options);
  const rng = new Rng(options.seed);
  const out: MathExample[] = [];
  while (out.length < n) {
    const theme = rng.pick(THEMES);
    const c = context(rng, theme);
    const steps = rng.range(o.minSteps, o.maxSteps);
    const sentences: string[] = [];
    const lines: string[] = [];
    let x: number;
    if (theme.product && rng.float() < 0.35) {
      const a = rng.range(2, o.maxFactor);
      const b = rng.range(2, Math.min(o.maxValue, Math.floor(o.maxResult / a)));
      x = a * b;
      sentences.push(rng.pick(theme.product)(c, a, b));
      lines.push(`${a} * ${b} = ${x}`);
    } else {
      x = rng.range(Math.min(3, o.maxValue), o.maxValue);
      sentences.push(theme.start(c, x));
    }
    let ok = true;
    const used = new Set<Phrase>();
    while (lines.length < steps) {
      const s = step(rng, theme, x, o, used);
      if (!s) {
        ok = false;
        break;
      }
      const phrase = rng.pick(theme[s.op].filter((p) => !used.has(p)));
      used.add(phrase);
      sentences.push(phrase(c, s.k));
      lines.push(`${x} ${SYMBOL[s.op]} ${s.k} = ${s.y}`);
      x = s.y;
    }
    if (!ok) continue;
    sentences.push(rng.pick(theme.question)(c));
    out.push({ question: sentences.join(" "), answer: String(x), solution: lines.join("\n") });
  }
  return out;
}

/** Options of {@linkcode formatMathTarget}. */
export interface FormatMathTargetOptions {
  /**
   * `"inline"` (default): `<answer>N</answer>`; `"strict"`: `<answer>\nN\n</answer>\n`, the shape
   * that `strictFormatReward` (TRL/Unsloth) accepts.
   */
  style?: "inline" | "strict";
}

/**
 * The training completion for `ex`: `<reasoning>\n…step lines…\n</reasoning>\n<answer>N</answer>`.
 * Step lines come from `ex.solution` (GSM8K calculator marks `<<…>>` removed, blank lines dropped).
 */
export function formatMathTarget(ex: MathExample, options: FormatMathTargetOptions = {}): string {
  const steps = (ex.solution ?? "").replace(/<<[^>]*>>/g, "").split("\n").map((l) => l.trim())
    .filter((l) => l.length > 0).join("\n");
  const answer = options.style === "strict"
    ? `<answer>\n${ex.answer}\n</answer>\n`
    : `<answer>${ex.answer}</answer>`;
  return `<reasoning>\n${steps}\n</reasoning>\n${answer}`;
}
