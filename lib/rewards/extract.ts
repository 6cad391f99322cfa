/**
 * Answer extraction under two rules. **Strict** (the seed study's correctness reward, and the default): the
 * answer is the text inside the last closed `<answer>…</answer>` pair, and a completion without one has no
 * answer. **Lenient** (a fallback chain, as lm-eval-harness's "flexible extract"): the last `<answer>` (closed
 * or not), else the GSM8K `#### N`, else the last number in the text. Also a number parser that copes with
 * commas, currency, units, signs, decimals, percent, a trailing period and simple fractions.
 * @module
 */

/** How an answer is read: `"strict"` only from the `<answer>…</answer>` slot, `"lenient"` by the fallback chain. */
export type AnswerRule = "strict" | "lenient";

/** Options of {@linkcode extractAnswer} and {@linkcode extractNumber}. */
export interface ExtractOptions {
  /** Default `"strict"`. */
  rule?: AnswerRule;
}

/** A number token inside free text (signs only when not glued to a word, e.g. not the `-` in `5-3`). */
const NUMBER_IN_TEXT = /(?<![\w.])[-−]?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|(?<![\w.])[-−]?\.\d+/g;

const STRICT =
  /^([-−+])?\s*[$€£]?\s*([-−])?\s*(\d+\s+\d+\s*\/\s*\d+|\d+\s*\/\s*\d+|(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)\s*(%|[a-zA-Z][a-zA-Z .]*)?$/;

/**
 * The answer text of a completion. Strict (default): the trimmed text inside the last closed
 * `<answer>…</answer>` pair, else null. Lenient: inside the last `<answer>` (up to `</answer>` or the end
 * when unclosed), else after the last `####` (first line), else the last number token. Null when none
 * (including an empty `<answer></answer>`).
 */
export function extractAnswer(text: string, options: ExtractOptions = {}): string | null {
  if ((options.rule ?? "strict") === "strict") return taggedAnswer(text);
  const open = text.lastIndexOf("<answer>");
  if (open >= 0) {
    const rest = text.slice(open + "<answer>".length);
    const close = rest.indexOf("</answer>");
    const inner = (close >= 0 ? rest.slice(0, close) : rest).trim();
    return inner || null;
  }
  const hash = text.lastIndexOf("####");
  if (hash >= 0) {
    const after = text.slice(hash + 4).trim().split("\n")[0].trim();
    if (after) return after;
  }
  return lastNumberText(text);
}

/** The trimmed text of the last closed `<answer>…</answer>` pair; null when there is none or it is empty. */
function taggedAnswer(text: string): string | null {
  const close = text.lastIndexOf("</answer>");
  if (close < 0) return null;
  const open = text.lastIndexOf("<answer>", close);
  if (open < 0) return null;
  return text.slice(open + "<answer>".length, close).trim() || null;
}

function lastNumberText(text: string): string | null {
  const all = text.match(NUMBER_IN_TEXT);
  return all ? all[all.length - 1] : null;
}

/**
 * Parses a string that is one number, e.g. `"1,234"`, `"$18.00"`, `"-3"`, `"18 dollars"`,
 * `"5 cm"`, `"50%"`, `"42."`, `"3/4"`, `"1 1/2"`. Null when `s` is not a single number
 * (e.g. `"x = 5"`, `"5 and 6"`, `"none"`).
 */
export function parseNumber(s: string): number | null {
  const t = s.trim().replace(/^\*+|\*+$/g, "").replace(/\.$/, "").trim();
  const m = t.match(STRICT);
  if (!m) return null;
  const neg = m[1] === "-" || m[1] === "−" || m[2] === "-" || m[2] === "−";
  const body = m[3].replace(/,/g, "");
  let v: number;
  const frac = body.match(/^(?:(\d+)\s+)?(\d+)\s*\/\s*(\d+)$/);
  if (frac) {
    const den = Number(frac[3]);
    if (den === 0) return null;
    v = Number(frac[1] ?? 0) + Number(frac[2]) / den;
  } else {
    v = Number(body);
  }
  if (!Number.isFinite(v)) return null;
  return neg ? -v : v;
}

/** The last number in free text (commas, `$`, signs handled); null when there is none. */
export function lastNumber(text: string): number | null {
  const tok = lastNumberText(text);
  return tok === null ? null : parseNumber(tok);
}

/**
 * The numeric answer of a completion: {@linkcode extractAnswer} (same rule, default strict), parsed by
 * {@linkcode parseNumber}, else the last number inside the extracted text. Null when none.
 */
export function extractNumber(text: string, options: ExtractOptions = {}): number | null {
  const a = extractAnswer(text, options);
  if (a === null) return null;
  return parseNumber(a) ?? lastNumber(a);
}
