/**
 * The project's own offline dialogue set: short instruction → response pairs built from template
 * families and word lists, deterministic by seed. Responses are one or two sentences.
 * @module
 */
import { ensure, Rng } from "../util/mod.ts";
import type { DialogueExample } from "./types.ts";

/** Options of {@linkcode generateDialogues}. */
export interface GenerateDialoguesOptions {
  /** RNG seed; equal seeds give equal dialogues. */
  seed: number;
}

type Family = (r: Rng) => DialogueExample;

const SYNONYMS: [string, string][] = [
  ["happy", "glad"],
  ["big", "large"],
  ["small", "tiny"],
  ["fast", "quick"],
  ["smart", "clever"],
  ["angry", "mad"],
  ["begin", "start"],
  ["end", "finish"],
  ["easy", "simple"],
  ["sad", "unhappy"],
  ["pretty", "beautiful"],
  ["cold", "chilly"],
  ["rich", "wealthy"],
  ["shout", "yell"],
  ["look", "see"],
];
const OPPOSITES: [string, string][] = [
  ["hot", "cold"],
  ["up", "down"],
  ["day", "night"],
  ["light", "dark"],
  ["early", "late"],
  ["open", "closed"],
  ["full", "empty"],
  ["young", "old"],
  ["hard", "soft"],
  ["win", "lose"],
  ["high", "low"],
  ["wet", "dry"],
  ["loud", "quiet"],
  ["push", "pull"],
  ["first", "last"],
];
const FRUITS: [string, string][] = [
  ["red", "A strawberry"],
  ["red", "A cherry"],
  ["yellow", "A banana"],
  ["yellow", "A lemon"],
  ["orange", "An orange"],
  ["green", "A lime"],
  ["green", "A kiwi"],
  ["purple", "A plum"],
  ["purple", "A grape"],
  ["blue", "A blueberry"],
];
const NAMES = [
  "Anna",
  "Ben",
  "Carla",
  "David",
  "Elif",
  "Farid",
  "Grace",
  "Hugo",
  "Ines",
  "Jamal",
  "Kira",
  "Luis",
];
const CAPITALS: [string, string][] = [
  ["France", "Paris"],
  ["Japan", "Tokyo"],
  ["Italy", "Rome"],
  ["Spain", "Madrid"],
  ["Egypt", "Cairo"],
  ["Kenya", "Nairobi"],
  ["Canada", "Ottawa"],
  ["Peru", "Lima"],
  ["India", "New Delhi"],
  ["Norway", "Oslo"],
  ["Germany", "Berlin"],
  ["Greece", "Athens"],
];
const SOUNDS: [string, string][] = [
  ["dog", "woof"],
  ["cat", "meow"],
  ["cow", "moo"],
  ["duck", "quack"],
  ["sheep", "baa"],
  ["owl", "hoot"],
  ["pig", "oink"],
  ["horse", "neigh"],
  ["lion", "roar"],
  ["frog", "ribbit"],
];
const PLURALS: [string, string][] = [
  ["child", "children"],
  ["mouse", "mice"],
  ["foot", "feet"],
  ["tooth", "teeth"],
  ["box", "boxes"],
  ["city", "cities"],
  ["leaf", "leaves"],
  ["man", "men"],
  ["knife", "knives"],
  ["bus", "buses"],
  ["baby", "babies"],
  ["goose", "geese"],
];
const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const WORDS = [
  "apple",
  "river",
  "garden",
  "pencil",
  "window",
  "tiger",
  "cloud",
  "basket",
  "candle",
  "mountain",
];
const PRODUCE: [string, string][] = [
  ["carrot", "vegetable"],
  ["apple", "fruit"],
  ["potato", "vegetable"],
  ["mango", "fruit"],
  ["onion", "vegetable"],
  ["pear", "fruit"],
  ["spinach", "vegetable"],
  ["peach", "fruit"],
  ["broccoli", "vegetable"],
  ["grape", "fruit"],
];
const SENTIMENT: [string, string][] = [
  ["I love this sunny day.", "positive"],
  ["The food was cold and tasteless.", "negative"],
  ["What a wonderful surprise!", "positive"],
  ["I am tired of waiting in this line.", "negative"],
  ["This book made me smile.", "positive"],
  ["The movie was boring and too long.", "negative"],
  ["My new shoes are so comfortable.", "positive"],
  ["The train was late again.", "negative"],
];
const GIFTS = ["flowers", "book", "scarf", "birthday card", "cake", "mug", "plant"];
const RHYMES: [string, string][] = [
  ["cat", "hat"],
  ["moon", "spoon"],
  ["tree", "bee"],
  ["cake", "lake"],
  ["star", "car"],
  ["fish", "dish"],
  ["rain", "train"],
  ["bell", "shell"],
  ["night", "light"],
  ["goat", "boat"],
];
const ANIMALS: [string, string, string][] = [
  ["penguin", "a bird that cannot fly", "swims in cold seas"],
  ["camel", "a desert animal", "stores fat in its hump"],
  ["dolphin", "a smart sea mammal", "breathes air through a blowhole"],
  ["owl", "a night bird", "hunts mice in the dark"],
  ["bee", "a small insect", "makes honey from flower nectar"],
  ["elephant", "the largest land animal", "uses its trunk to drink"],
  ["kangaroo", "an Australian animal", "carries its baby in a pouch"],
  ["frog", "an amphibian", "starts life as a tadpole"],
];
const CAN: [string, string[]][] = [
  ["fly", ["eagle", "sparrow", "bat", "parrot"]],
  ["swim", ["fish", "seal", "otter", "turtle"]],
  ["climb trees", ["monkey", "squirrel", "koala", "cat"]],
  ["run fast", ["cheetah", "horse", "ostrich", "hare"]],
];
const NUMBER_WORDS = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "ten",
  "eleven",
  "twelve",
  "thirteen",
  "fourteen",
  "fifteen",
  "sixteen",
  "seventeen",
  "eighteen",
  "nineteen",
  "twenty",
];
const COLORS = ["red", "blue", "green", "yellow", "orange", "purple", "pink", "brown"];

const q = (instruction: string, output: string, input = ""): DialogueExample => ({
  instruction,
  input,
  output,
});
const cap = (s: string) => s[0].toUpperCase() + s.slice(1);
const an = (w: string) => (/^[aeiou]/.test(w) ? `an ${w}` : `a ${w}`);
function sample<T>(r: Rng, items: readonly T[], k: number): T[] {
  return r.shuffle([...items]).slice(0, k);
}

/** The template families (≥ 15), each a function of the RNG. */
export const DIALOGUE_FAMILIES: readonly Family[] = [
  (r) => {
    const [w, s] = r.pick(SYNONYMS);
    return q(`Give a synonym for ${w}.`, `A synonym for ${w} is ${s}.`);
  },
  (r) => {
    const [w, o] = r.pick(OPPOSITES);
    return q(`What is the opposite of ${w}?`, `The opposite of ${w} is ${o}.`);
  },
  (r) => {
    const [color, fruit] = r.pick(FRUITS);
    return q(`Name a fruit that is ${color}.`, `${fruit} is a fruit that is ${color}.`);
  },
  (r) => {
    const n = r.pick(NAMES);
    const out = r.pick([
      `Hello, ${n}! It is lovely to see you today.`,
      `Hi ${n}, welcome! I hope you have a great day.`,
      `Good morning, ${n}! I am so glad you are here.`,
    ]);
    return q(`Write a short greeting for ${n}.`, out);
  },
  (r) => {
    const [c, city] = r.pick(CAPITALS);
    return q(`What is the capital of ${c}?`, `The capital of ${c} is ${city}.`);
  },
  (r) => {
    const [a, s] = r.pick(SOUNDS);
    return q(`What sound does a ${a} make?`, `A ${a} says "${s}".`);
  },
  (r) => {
    const [w, p] = r.pick(PLURALS);
    return q(`What is the plural of ${w}?`, `The plural of ${w} is ${p}.`);
  },
  (r) => {
    const a = r.range(1, 50), b = r.range(1, 50);
    return q(`What is ${a} plus ${b}?`, `${a} plus ${b} is ${a + b}.`);
  },
  (r) => {
    const ws = sample(r, WORDS, r.range(3, 5));
    return q("Sort these words in alphabetical order.", [...ws].sort().join(", ") + ".", ws.join(", "));
  },
  (r) => {
    const ws = sample(r, WORDS, r.range(2, 4)).join(" ");
    return q("Rewrite the input in capital letters.", ws.toUpperCase(), ws);
  },
  (r) => {
    const [w, kind] = r.pick(PRODUCE);
    return q("Is the following a fruit or a vegetable?", `${cap(an(w))} is ${an(kind)}.`, w);
  },
  (r) => {
    const [s, label] = r.pick(SENTIMENT);
    return q(
      "Classify the sentiment of this sentence as positive or negative.",
      `The sentiment is ${label}.`,
      s,
    );
  },
  (r) => {
    const ws = sample(r, WORDS, r.range(2, 7));
    return q("How many words are in the input?", `The input has ${ws.length} words.`, ws.join(" "));
  },
  (r) => {
    const i = r.int(7);
    return q(`What day comes after ${DAYS[i]}?`, `The day after ${DAYS[i]} is ${DAYS[(i + 1) % 7]}.`);
  },
  (r) => {
    const i = r.int(12);
    return q(
      `Which month comes after ${MONTHS[i]}?`,
      `The month after ${MONTHS[i]} is ${MONTHS[(i + 1) % 12]}.`,
    );
  },
  (r) => {
    const n = r.pick(NAMES), g = r.pick(GIFTS);
    return q(
      `Write a one-sentence thank-you note to ${n} for the ${g}.`,
      `Dear ${n}, thank you so much for the lovely ${g}.`,
    );
  },
  (r) => {
    const [w, rh] = r.pick(RHYMES);
    return q(`Give a word that rhymes with ${w}.`, `A word that rhymes with ${w} is ${rh}.`);
  },
  (r) => {
    const w = r.pick(WORDS);
    return q(
      "Spell the input word backwards.",
      `The word ${w} spelled backwards is ${[...w].reverse().join("")}.`,
      w,
    );
  },
  (r) => {
    const w = r.pick(WORDS);
    return q(`What is the first letter of the word ${w}?`, `The first letter of ${w} is ${w[0]}.`);
  },
  (r) => {
    const n = r.int(NUMBER_WORDS.length);
    return q(`Write the number ${n} in words.`, `The number ${n} is written as ${NUMBER_WORDS[n]}.`);
  },
  (r) => {
    const [a, what, fact] = r.pick(ANIMALS);
    return q(`Describe the ${a} in two sentences.`, `The ${a} is ${what}. It ${fact}.`);
  },
  (r) => {
    const [verb, animals] = r.pick(CAN);
    const a = r.pick(animals);
    return q(`Name an animal that can ${verb}.`, `${cap(an(a))} is an animal that can ${verb}.`);
  },
  (r) => {
    const [c1, c2] = sample(r, COLORS, 2);
    return q(
      `Write a short sentence about a ${c1} kite and a ${c2} balloon.`,
      `A ${c1} kite danced in the sky beside a ${c2} balloon.`,
    );
  },
];

/**
 * Generates `n` instruction → response pairs, deterministic by `seed`, cycling randomly through
 * {@linkcode DIALOGUE_FAMILIES} (each family is equally likely).
 */
export function generateDialogues(n: number, options: GenerateDialoguesOptions): DialogueExample[] {
  ensure(Number.isInteger(n) && n >= 0, `generateDialogues: n must be a non-negative integer, got ${n}`);
  const r = new Rng(options.seed);
  return Array.from({ length: n }, () => r.pick(DIALOGUE_FAMILIES)(r));
}
