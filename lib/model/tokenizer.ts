/**
 * A small tokenizer wrapper over `@huggingface/transformers`, loaded from a local model folder
 * without touching the network: `tokenizer.json` and `tokenizer_config.json` are read here and
 * handed to the tokenizer class named by `tokenizer_class` (what `AutoTokenizer` picks), so no
 * hub lookup, cache or download ever happens. Works for the project's own tiny tokenizer and for
 * Hugging Face ByteLevel-BPE tokenizers (SmolLM2, Qwen2) with their chat templates.
 * @module
 */
// @ts-types="./hf_transformers.d.ts"
import * as transformers from "@huggingface/transformers";
import { join } from "node:path";
import { UserError } from "../util/mod.ts";
import { notice } from "../util/notices.ts";

/** One chat message. */
export interface ChatMessage {
  /** "system", "user" or "assistant". */
  role: string;
  /** The message text. */
  content: string;
}

/** Options of {@linkcode Tokenizer.encode}. */
export interface EncodeOptions {
  /**
   * Let the tokenizer's post-processor add its special tokens (e.g. a BOS). Default false: chat
   * templates already spell out every special token, as TRL does when it encodes prompts.
   */
  addSpecialTokens?: boolean;
}

/** Options of {@linkcode Tokenizer.decode}. */
export interface DecodeOptions {
  /** Drop special tokens (eos, chat markers) from the text. Default false. */
  skipSpecialTokens?: boolean;
}

/** Options of {@linkcode Tokenizer.applyChatTemplate}. */
export interface ChatTemplateOptions {
  /** Append the opening of an assistant turn. Default true. */
  addGenerationPrompt?: boolean;
}

/** Text ↔ token ids for one model. */
export interface Tokenizer {
  /** The folder it was loaded from (or a label for in-memory tokenizers). */
  readonly source: string;
  /** Number of ids (highest id + 1, special tokens included). */
  readonly vocabSize: number;
  /** Ids that end generation: tokenizer eos, then `generation_config.json` and `config.json` eos ids. */
  readonly eosTokenIds: number[];
  /** Padding id (`pad_token`, else the first eos id). */
  readonly padTokenId: number;
  /** Beginning-of-sequence id, when the tokenizer has one. */
  readonly bosTokenId?: number;
  /** Ids given to {@linkcode Tokenizer.decode} that have no token (skipped; counted here). */
  readonly skippedIds: number;
  /** Text → ids. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Ids → text (an empty list gives ""). */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  /** Renders messages with the tokenizer's chat template. */
  applyChatTemplate(messages: ChatMessage[], options?: ChatTemplateOptions): string;
  /** The id of one token string (special tokens included), or undefined. */
  tokenToId(token: string): number | undefined;
}

type HfTokenizer = transformers.PreTrainedTokenizer;

async function readJson(path: string, what: string, optional: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      if (optional) return undefined;
      throw new UserError(what);
    }
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

function idList(v: unknown): number[] {
  const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  return list.filter((x): x is number => Number.isInteger(x) && x >= 0);
}

/** Options of {@linkcode tokenizerFromJson}. */
export interface TokenizerFromJsonOptions {
  /** Label used in error messages and as `source` (default "tokenizer.json"). */
  source?: string;
  /** Extra end-of-sequence ids (e.g. from generation_config.json), appended after the tokenizer's eos. */
  extraEosTokenIds?: number[];
}

/** Builds a {@linkcode Tokenizer} from parsed `tokenizer.json` and `tokenizer_config.json` objects. */
export function tokenizerFromJson(
  tokenizerJson: unknown,
  tokenizerConfig: Record<string, unknown> = {},
  options: TokenizerFromJsonOptions = {},
): Tokenizer {
  const source = options.source ?? "tokenizer.json";
  const name = typeof tokenizerConfig.tokenizer_class === "string"
    ? tokenizerConfig.tokenizer_class.replace(/Fast$/, "")
    : "PreTrainedTokenizer";
  const candidate = (transformers as unknown as Record<string, unknown>)[name];
  let cls = transformers.PreTrainedTokenizer;
  if (
    typeof candidate === "function" &&
    (candidate === cls || candidate.prototype instanceof transformers.PreTrainedTokenizer)
  ) {
    cls = candidate as typeof transformers.PreTrainedTokenizer;
  } else {
    notice(`tokenizer: unknown tokenizer_class "${name}" in ${source}; using the generic tokenizer`);
  }
  let tok: HfTokenizer;
  try {
    tok = new cls(tokenizerJson, tokenizerConfig);
  } catch (e) {
    throw new UserError(`${source}: cannot load tokenizer (${(e as Error).message})`);
  }
  return new WrappedTokenizer(tok, source, options.extraEosTokenIds ?? []);
}

class WrappedTokenizer implements Tokenizer {
  readonly source: string;
  readonly vocabSize: number;
  readonly eosTokenIds: number[];
  readonly padTokenId: number;
  readonly bosTokenId?: number;
  #tok: HfTokenizer;
  #skipped = 0;
  #hasToken: (id: number) => boolean;

  constructor(tok: HfTokenizer, source: string, extraEos: number[]) {
    this.#tok = tok;
    this.source = source;
    const vocab = tok.get_vocab() as Map<string, number>;
    let max = -1;
    for (const id of vocab.values()) max = Math.max(max, id);
    this.vocabSize = max + 1;
    const ids = new Set(vocab.values());
    this.#hasToken = (id) => ids.has(id);
    const eos = [...idList(tok.eos_token_id), ...extraEos];
    this.eosTokenIds = [...new Set(eos)];
    const pad = idList(tok.pad_token_id)[0] ?? this.eosTokenIds[0];
    if (pad === undefined) {
      throw new UserError(`${source}: tokenizer has neither a pad_token nor an eos_token`);
    }
    this.padTokenId = pad;
    const bos = idList(tok.bos_token_id)[0];
    if (bos !== undefined) this.bosTokenId = bos;
  }

  get skippedIds(): number {
    return this.#skipped;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.#tok.encode(text, { add_special_tokens: options.addSpecialTokens ?? false });
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const kept: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = Number(ids[i]);
      if (this.#hasToken(id)) kept.push(id);
      else this.#skipped++;
    }
    if (kept.length === 0) return "";
    return this.#tok.decode(kept, { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  applyChatTemplate(messages: ChatMessage[], options: ChatTemplateOptions = {}): string {
    if (!this.#tok.chat_template) throw new UserError(`${this.source}: tokenizer has no chat_template`);
    try {
      return this.#tok.apply_chat_template(messages, {
        tokenize: false,
        add_generation_prompt: options.addGenerationPrompt ?? true,
      });
    } catch (e) {
      throw new UserError(`${this.source}: chat template failed (${(e as Error).message})`);
    }
  }

  tokenToId(token: string): number | undefined {
    return this.#tok._tokenizer.token_to_id(token);
  }
}

/**
 * Loads the tokenizer of the model folder `dir` offline: `tokenizer.json` (required),
 * `tokenizer_config.json` (optional), and eos ids from `generation_config.json` / `config.json`.
 * Missing or corrupt files throw a {@linkcode UserError} naming them.
 */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const tokenizerPath = join(dir, "tokenizer.json");
  const json = await readJson(tokenizerPath, `model folder ${dir} has no tokenizer.json`, false);
  const configPath = join(dir, "tokenizer_config.json");
  const config = (await readJson(configPath, "", true)) ?? {};
  if (typeof config !== "object" || Array.isArray(config)) {
    throw new UserError(`${configPath}: not a JSON object`);
  }
  const gen = (await readJson(join(dir, "generation_config.json"), "", true)) as
    | Record<string, unknown>
    | undefined;
  const model = (await readJson(join(dir, "config.json"), "", true)) as Record<string, unknown> | undefined;
  return tokenizerFromJson(json, config as Record<string, unknown>, {
    source: tokenizerPath,
    extraEosTokenIds: [...idList(gen?.eos_token_id), ...idList(model?.eos_token_id)],
  });
}
