/**
 * The slice of `@huggingface/transformers` this folder uses, declared by hand: the package's own
 * type declarations pull in `@types/node` 26, whose `node:assert` and other signatures differ from
 * Deno's built-in Node types and break type-checking of unrelated files in the same program.
 * @module
 */

/** A Hugging Face tokenizer built from `tokenizer.json` and `tokenizer_config.json` objects. */
export declare class PreTrainedTokenizer {
  constructor(tokenizerJSON: unknown, tokenizerConfig: unknown);
  /** Id of `eos_token` (null/undefined when absent). */
  eos_token_id: number | null | undefined;
  /** Id of `pad_token` (falls back to eos). */
  pad_token_id: number | null | undefined;
  /** Id of `bos_token`. */
  bos_token_id: number | null | undefined;
  /** The chat template(s) from the config. */
  chat_template: unknown;
  /** The underlying `@huggingface/tokenizers` tokenizer. */
  _tokenizer: {
    token_to_id(token: string): number | undefined;
    pre_tokenizer: ((text: string, options?: unknown) => string[]) | null;
  };
  /** Token → id, added tokens included. */
  get_vocab(): Map<string, number>;
  /** Text → ids. */
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  /** Ids → text; throws on an empty list. */
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  /** Renders a conversation with the chat template. */
  apply_chat_template(
    messages: { role: string; content: string }[],
    options: { tokenize: false; add_generation_prompt?: boolean },
  ): string;
}
