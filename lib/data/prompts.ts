/**
 * The system prompt and the chat-message builders used by training and evaluation. Pure functions.
 * @module
 */

import type { ChatMessage } from "../model/mod.ts";

/** One chat message: the model layer's type (one type for the tokenizer, the trainer and the prompts). */
export type { ChatMessage };

/** The seed study's math system prompt (TRL/Unsloth GSM8K recipe). */
export const MATH_SYSTEM_PROMPT =
  "Respond in the following format:\n<reasoning>\n...\n</reasoning>\n<answer>\n...\n</answer>";

/** Options of {@linkcode mathMessages}. */
export interface MathMessagesOptions {
  /** System prompt (default {@linkcode MATH_SYSTEM_PROMPT}). */
  system?: string;
}

/** `[system, user]` messages asking `question` with the math format prompt. */
export function mathMessages(question: string, options: MathMessagesOptions = {}): ChatMessage[] {
  return [
    { role: "system", content: options.system ?? MATH_SYSTEM_PROMPT },
    { role: "user", content: question },
  ];
}

/** Options of {@linkcode dialogueMessages}. */
export interface DialogueMessagesOptions {
  /** An optional system prompt put first (default: none). */
  system?: string;
}

/**
 * Chat messages for an instruction example: the user turn is the instruction, followed by a blank
 * line and the input when the input is not empty.
 */
export function dialogueMessages(
  ex: { instruction: string; input?: string },
  options: DialogueMessagesOptions = {},
): ChatMessage[] {
  const input = ex.input?.trim() ?? "";
  const user: ChatMessage = {
    role: "user",
    content: input ? `${ex.instruction}\n\n${input}` : ex.instruction,
  };
  return options.system ? [{ role: "system", content: options.system }, user] : [user];
}
