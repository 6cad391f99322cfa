/**
 * Row types shared by the dataset loaders and generators.
 * @module
 */

/** One math word problem with its gold answer. */
export interface MathExample {
  /** The word problem. */
  question: string;
  /** The gold number as a canonical string, e.g. `"42"` (no commas, no units). */
  answer: string;
  /** The worked reasoning (GSM8K: the text before `####`; generated sets: one `a + b = c` line per step). */
  solution?: string;
}

/** One instruction → response pair (Alpaca style). */
export interface DialogueExample {
  /** What the user asks for. */
  instruction: string;
  /** Optional extra input the instruction refers to (`""` when none). */
  input: string;
  /** The reference response. */
  output: string;
}

/** One row a loader could not use: its line (JSONL) or item number (JSON array), 1-based, and why. */
export interface SkippedRow {
  /** 1-based line number (JSONL) or item number (JSON array). */
  line: number;
  /** Why the row was skipped, e.g. `answer has no "####"`. */
  reason: string;
}

/** What a loader returns: the usable rows and every skipped one. */
export interface LoadResult<T> {
  /** The valid rows, in file order. */
  rows: T[];
  /** Rows that were skipped, with line numbers and reasons (also printed as one warning line). */
  skipped: SkippedRow[];
}
