/**
 * A small, deterministic BPE tokenizer trainer for the project's own tiny model. It emits a Hugging
 * Face `tokenizer.json` in the same style as Qwen2/SmolLM2 (a regex Split pre-tokenizer then a
 * ByteLevel mapping, ByteLevel decoder), so `@huggingface/transformers` loads it and decoding gives
 * back the exact text, spaces and newlines included. Every digit is its own pre-token, so numbers are
 * spelled one digit per token. The alphabet is only the byte-characters seen (plus `extraAlphabet`)
 * and an `<unk>`, not all 256 bytes.
 * @module
 */
// @ts-types="./hf_transformers.d.ts"
import * as transformers from "@huggingface/transformers";
import { join } from "node:path";
import { Rng, UserError, writeJsonAtomic } from "../util/mod.ts";

/** The special tokens of the tiny model: eos/pad, the three chat roles and the end-of-turn marker. */
export const TINY_SPECIAL_TOKENS: readonly string[] = [
  "<|endoftext|>",
  "<|system|>",
  "<|user|>",
  "<|assistant|>",
  "<|end|>",
];

/**
 * The tiny model's chat template: each message renders as `<|role|>\n{content}<|end|>\n`, and the
 * generation prompt is `<|assistant|>\n`. Other roles raise an error.
 */
export const TINY_CHAT_TEMPLATE = "{%- for message in messages -%}" +
  "{%- if message['role'] not in ['system', 'user', 'assistant'] -%}" +
  "{{ raise_exception('unsupported chat role: ' + message['role']) }}{%- endif -%}" +
  "{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}" +
  "{%- endfor -%}" +
  "{%- if add_generation_prompt -%}{{ '<|assistant|>\\n' }}{%- endif -%}";

/**
 * The pre-tokenizer regex (Qwen2-style, case-sensitive contractions): words with one leading
 * non-letter, single digits, punctuation runs with trailing newlines, whitespace runs.
 */
export const PRETOKENIZE_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** A Hugging Face `tokenizer.json` object as this trainer writes it. */
export interface TokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: null;
  pre_tokenizer: Record<string, unknown>;
  post_processor: null;
  decoder: Record<string, unknown>;
  model: {
    type: "BPE";
    dropout: null;
    unk_token: string;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: boolean;
    byte_fallback: boolean;
    ignore_merges: boolean;
    vocab: Record<string, number>;
    merges: string[];
  };
}

/** One entry of `added_tokens`. */
export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** Options of {@linkcode trainBpe}. */
export interface TrainBpeOptions {
  /** Target vocabulary size, special tokens and alphabet included (training stops earlier when no pair is frequent enough). */
  vocabSize: number;
  /** Special tokens, given the first ids in this order (default {@linkcode TINY_SPECIAL_TOKENS}). */
  specialTokens?: readonly string[];
  /** The unknown token, added after the special tokens (default "<unk>"). */
  unkToken?: string;
  /** Pairs seen fewer times are never merged (default 2). */
  minFrequency?: number;
  /** Characters always in the alphabet even if unseen (default: printable ASCII, "\n", "\r" and "\t"). */
  extraAlphabet?: string;
  /** Train on a random sample of this many texts (default: all). */
  maxTexts?: number;
  /** Seed of that sample (default 0). */
  seed?: number;
}

const PRINTABLE_ASCII = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("") + "\n\r\t";

function skeleton(specials: string[], unk: string): TokenizerJson {
  const vocab: Record<string, number> = {};
  const added: AddedTokenJson[] = specials.map((content, id) => {
    vocab[content] = id;
    return {
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    };
  });
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: PRETOKENIZE_PATTERN }, behavior: "Isolated", invert: false },
        byteLevel,
      ],
    },
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: unk,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
}

/** Returns a function splitting text into byte-level pre-tokens exactly as the loaded tokenizer will. */
function preTokenizer(specials: string[], unk: string): (text: string) => string[] {
  const split = new transformers.PreTrainedTokenizer(skeleton(specials, unk), {})._tokenizer.pre_tokenizer;
  if (!split) throw new Error("trainBpe: the tokenizer library built no pre-tokenizer");
  const escaped = [...specials].sort((a, b) => b.length - a.length).map((s) =>
    s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  );
  const splitter = new RegExp(escaped.join("|"), "g");
  return (text) => text.split(splitter).flatMap((section) => section ? split(section) : []);
}

/**
 * Trains a BPE tokenizer on `texts`: counts byte-level pre-tokens, starts from the characters
 * seen, and greedily merges the most frequent adjacent pair (ties: the lexicographically smallest
 * pair) until `vocabSize` is reached. Deterministic. Special tokens inside texts are not learned.
 */
export function trainBpe(texts: Iterable<string>, options: TrainBpeOptions): TokenizerJson {
  const specials = [...(options.specialTokens ?? TINY_SPECIAL_TOKENS)];
  const unk = options.unkToken ?? "<unk>";
  if (!specials.includes(unk)) specials.push(unk);
  if (new Set(specials).size !== specials.length) throw new UserError(`trainBpe: duplicate special tokens`);
  if (!Number.isInteger(options.vocabSize) || options.vocabSize > 1 << 20) {
    throw new UserError(`trainBpe: vocabSize ${options.vocabSize} must be an integer ≤ ${1 << 20}`);
  }
  const minFrequency = Math.max(1, options.minFrequency ?? 2);
  let list = [...texts];
  if (options.maxTexts !== undefined && list.length > options.maxTexts) {
    list = new Rng(options.seed ?? 0).shuffle(list).slice(0, options.maxTexts);
  }
  const pre = preTokenizer(specials, unk);
  const counts = new Map<string, number>();
  for (const text of list) for (const w of pre(text)) counts.set(w, (counts.get(w) ?? 0) + 1);

  const json = skeleton(specials, unk);
  const vocab = json.model.vocab;
  const chars = new Set<string>();
  for (const w of counts.keys()) for (const ch of w) chars.add(ch);
  for (const w of pre(options.extraAlphabet ?? PRINTABLE_ASCII)) for (const ch of w) chars.add(ch);
  const symbols: string[] = [];
  const idOf = new Map<string, number>();
  for (const ch of [...chars].sort()) {
    idOf.set(ch, symbols.length);
    symbols.push(ch);
  }
  if (specials.length + symbols.length > options.vocabSize) {
    throw new UserError(
      `trainBpe: vocabSize ${options.vocabSize} is smaller than ${specials.length} special tokens + ${symbols.length} characters`,
    );
  }

  const words = [...counts.keys()].map((w) => Array.from(w, (ch) => idOf.get(ch)!));
  const freq = [...counts.values()];
  const KEY = 1 << 20;
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: number) => {
    const w = words[wi];
    for (let i = 0; i + 1 < w.length; i++) {
      const k = w[i] * KEY + w[i + 1];
      pairCounts.set(k, (pairCounts.get(k) ?? 0) + sign * freq[wi]);
      if (sign > 0) {
        let s = pairWords.get(k);
        if (!s) pairWords.set(k, s = new Set());
        s.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);

  const merges: string[] = [];
  while (specials.length + symbols.length < options.vocabSize) {
    let best = -1, bestCount = 0;
    for (const [k, c] of pairCounts) {
      if (c < minFrequency || c < bestCount) continue;
      if (c > bestCount || pairLess(k, best, symbols, KEY)) {
        best = k;
        bestCount = c;
      }
    }
    if (best < 0) break;
    const a = Math.floor(best / KEY), b = best % KEY;
    const merged = symbols[a] + symbols[b];
    let m = idOf.get(merged);
    if (m === undefined) {
      m = symbols.length;
      idOf.set(merged, m);
      symbols.push(merged);
    }
    merges.push(`${symbols[a]} ${symbols[b]}`);
    for (const wi of pairWords.get(best) ?? []) {
      addPairs(wi, -1);
      const w = words[wi], out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          out.push(m);
          i++;
        } else out.push(w[i]);
      }
      words[wi] = out;
      addPairs(wi, 1);
    }
    pairCounts.delete(best);
    pairWords.delete(best);
  }
  symbols.forEach((s, i) => {
    if (s in vocab) {
      throw new UserError(`trainBpe: learned token ${JSON.stringify(s)} collides with a special token`);
    }
    vocab[s] = specials.length + i;
  });
  json.model.merges = merges;
  return json;
}

function pairLess(k: number, best: number, symbols: string[], KEY: number): boolean {
  if (best < 0) return true;
  const a = symbols[Math.floor(k / KEY)], b = symbols[Math.floor(best / KEY)];
  if (a !== b) return a < b;
  return symbols[k % KEY] < symbols[best % KEY];
}

/** Options of {@linkcode writeTokenizerFiles}. */
export interface WriteTokenizerFilesOptions {
  /** Jinja chat template (default {@linkcode TINY_CHAT_TEMPLATE}). */
  chatTemplate?: string;
  /** End-of-sequence token (default "<|endoftext|>"). */
  eosToken?: string;
  /** Padding token (default: the eos token). */
  padToken?: string;
  /** Beginning-of-sequence token (default none). */
  bosToken?: string;
  /** `model_max_length` (default 2048). */
  modelMaxLength?: number;
}

/**
 * Writes `dir/tokenizer.json` and `dir/tokenizer_config.json` (chat template, eos/pad/bos/unk,
 * `clean_up_tokenization_spaces: false`) atomically. The named tokens must be special tokens of
 * `tokenizerJson`.
 */
export async function writeTokenizerFiles(
  dir: string,
  tokenizerJson: TokenizerJson,
  options: WriteTokenizerFilesOptions = {},
): Promise<void> {
  const specials = tokenizerJson.added_tokens.filter((t) => t.special).map((t) => t.content);
  const eos = options.eosToken ?? "<|endoftext|>";
  const pad = options.padToken ?? eos;
  for (const [field, token] of [["eosToken", eos], ["padToken", pad], ["bosToken", options.bosToken]]) {
    if (token !== undefined && !specials.includes(token)) {
      throw new UserError(`writeTokenizerFiles: ${field} ${JSON.stringify(token)} is not a special token`);
    }
  }
  const unk = tokenizerJson.model.unk_token;
  const named = new Set([eos, pad, options.bosToken, unk]);
  const config = {
    tokenizer_class: "PreTrainedTokenizerFast",
    bos_token: options.bosToken ?? null,
    eos_token: eos,
    pad_token: pad,
    unk_token: unk,
    additional_special_tokens: specials.filter((t) => !named.has(t)),
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: options.modelMaxLength ?? 2048,
    chat_template: options.chatTemplate ?? TINY_CHAT_TEMPLATE,
    added_tokens_decoder: Object.fromEntries(
      tokenizerJson.added_tokens.map(({ id, ...rest }) => [String(id), rest]),
    ),
  };
  await writeJsonAtomic(join(dir, "tokenizer.json"), tokenizerJson);
  await writeJsonAtomic(join(dir, "tokenizer_config.json"), config);
}
