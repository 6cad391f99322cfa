/**
 * Small HTML building blocks for the offline report: escaping, tables, safe inline scripts.
 * @module
 */

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** JSON that is safe inside a `<script>` element (no `<`, U+2028 or U+2029 left raw). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(
    /\u2029/g,
    "\\u2029",
  );
}

/** JavaScript source made safe to inline in `<script>`: `</script` becomes `<\/script` (valid in strings and regexes). */
export function inlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, "<\\/$1");
}

/** A cell: text (escaped) or `{ html }` (trusted markup), with an optional class. */
export type Cell = string | number | { html: string; cls?: string };

function cell(c: Cell, tag: "td" | "th"): string {
  if (typeof c === "object") {
    return `<${tag}${c.cls ? ` class="${escapeHtml(c.cls)}"` : ""}>${c.html}</${tag}>`;
  }
  return `<${tag}${typeof c === "number" ? ' class="num"' : ""}>${escapeHtml(String(c))}</${tag}>`;
}

/** An HTML table from a header row and body rows. */
export function htmlTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return `<table><thead><tr>${header.map((h) => cell(h, "th")).join("")}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c) => cell(c, "td")).join("")}</tr>`).join("\n")
  }</tbody></table>`;
}

/** Cell style of tables shown in notebooks: text left-aligned and top-aligned, broken only between words. */
export const READABLE_CELL =
  "text-align:left;vertical-align:top;word-break:normal;overflow-wrap:normal;hyphens:none";

/**
 * Makes table HTML readable in any front-end (Jupyter right-aligns table cells by default and squeezes
 * wide tables into mid-word breaks): every cell gets {@linkcode READABLE_CELL} inline (numbers stay
 * right-aligned, unbroken), text cells a minimum width, and the whole scrolls sideways when wide.
 */
export function readableTable(html: string): string {
  const styled = html
    .replace(
      /<(td|th) class="num">/g,
      '<$1 class="num" style="text-align:right;vertical-align:top;white-space:nowrap">',
    )
    .replace(/<(td|th)>/g, `<$1 style="${READABLE_CELL};min-width:8em">`);
  return `<div class="grpo-readable" style="overflow-x:auto;text-align:left">${styled}</div>`;
}

/** Page style: readable, print-friendly, no external fonts. */
export const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #222; background: #fafafa; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.88em; background: #fff; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; } th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.finding { background: #fff4e5; border-left: 4px solid #f0a020; padding: 6px 10px; margin: 6px 0; }
.finding code { background: #fde3bd; padding: 1px 5px; border-radius: 3px; margin-right: 6px; }
.ok { background: #eaf7ea; border-left: 4px solid #3a3; padding: 6px 10px; }
.warn { color: #8a5a00; }
ul.sentences li { margin: 6px 0; }
.figure { background: #fff; border: 1px solid #e4e4e4; margin: 16px 0; padding: 4px; }
`;
