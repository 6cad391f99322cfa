/**
 * Cell outputs in nbformat 4 shape from a kernel's iopub messages: streams merged, displays remembered
 * by `display_id` and updated in place (`update_display_data`), `clear_output` honoured, and the count of
 * each message type kept for the caller.
 * @module
 */
import type { MimeBundle } from "../util/mod.ts";
import { type Cell, joinSource, type Notebook, type Output, splitLines } from "./nbformat.ts";
import type { JupyterMessage } from "./wire.ts";

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -\/]*[@-~]/g;

/** Removes ANSI escape codes (colours) from `text`. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

function isJsonMime(mime: string): boolean {
  return mime === "application/json" || mime.endsWith("+json");
}

/** Text mime values as lists of lines (as nbformat stores them); JSON mime values stay objects. */
export function toNbData(data: unknown): MimeBundle {
  const out: MimeBundle = {};
  for (const [mime, v] of Object.entries((data ?? {}) as MimeBundle)) {
    out[mime] = typeof v === "string" && !isJsonMime(mime) ? splitLines(v) : v;
  }
  return out;
}

/** A copy of `nb` with stream texts split into lines, as Jupyter writes them. */
export function finalize(nb: Notebook): Notebook {
  const copy: Notebook = structuredClone(nb);
  for (const c of copy.cells) {
    for (const o of c.outputs ?? []) if (o.output_type === "stream") o.text = splitLines(joinSource(o.text));
  }
  return copy;
}

/** `text` on one line (ANSI stripped, newlines as ⏎), cut to `max` characters. */
export function oneLine(text: string, max: number): string {
  const line = stripAnsi(text).replace(/\s*\n\s*/g, " ⏎ ").trim();
  return line.length > max ? line.slice(0, max - 1) + "…" : line;
}

/** Collects one cell's iopub messages into its outputs. */
export class OutputCollector {
  /** Count of each iopub message type received. */
  readonly counts: Record<string, number> = {};
  #clearPending = false;
  /** Outputs by display id, shared by every cell of a run. */
  readonly displays: Map<string, Output[]>;
  /** Progress lines. */
  readonly log: (line: string) => void;
  /** Stream text as it arrives. */
  readonly stream: (name: "stdout" | "stderr", text: string) => void;
  /**
   * @param cell the cell whose `outputs` receive what arrives
   * @param options `displays`: outputs by display id, shared by all cells of a run (updates reach
   *   earlier cells); `log`: progress lines; `stream`: stream text as it arrives
   */
  constructor(
    readonly cell: Cell,
    options: {
      displays: Map<string, Output[]>;
      log: (line: string) => void;
      stream: (name: "stdout" | "stderr", text: string) => void;
    },
  ) {
    this.displays = options.displays;
    this.log = options.log;
    this.stream = options.stream;
  }

  #push(o: Output): void {
    if (this.#clearPending) {
      this.cell.outputs = [];
      this.#clearPending = false;
    }
    this.cell.outputs!.push(o);
  }

  /** Adds what one iopub message of this cell carries to its outputs. */
  handle(m: JupyterMessage): void {
    const type = m.header.msg_type, c = m.content;
    this.counts[type] = (this.counts[type] ?? 0) + 1;
    const outs = this.cell.outputs!;
    const displayId = (c.transient as { display_id?: string } | undefined)?.display_id;
    switch (type) {
      case "stream": {
        const name = c.name === "stderr" ? "stderr" : "stdout";
        const text = String(c.text ?? "");
        this.stream(name, text);
        const last = outs[outs.length - 1];
        if (!this.#clearPending && last?.output_type === "stream" && last.name === name) {
          last.text = joinSource(last.text) + text;
        } else this.#push({ output_type: "stream", name, text });
        break;
      }
      case "display_data": {
        const o: Output = {
          output_type: "display_data",
          data: toNbData(c.data),
          metadata: toMeta(c.metadata),
        };
        this.#push(o);
        if (displayId) this.displays.set(displayId, [...(this.displays.get(displayId) ?? []), o]);
        this.log(
          `  display: ${Object.keys(o.data).join(", ")}${displayId ? ` (display_id ${displayId})` : ""}`,
        );
        break;
      }
      case "update_display_data": {
        const targets = displayId ? this.displays.get(displayId) : undefined;
        if (!targets?.length) {
          this.log(
            `  warning: update_display_data for unknown display_id ${JSON.stringify(displayId)} ignored`,
          );
          break;
        }
        for (const o of targets) {
          if (o.output_type !== "display_data" && o.output_type !== "execute_result") continue;
          o.data = toNbData(c.data);
          o.metadata = toMeta(c.metadata);
        }
        break;
      }
      case "execute_result": {
        const data = toNbData(c.data);
        const count = typeof c.execution_count === "number" ? c.execution_count : null;
        this.#push({
          output_type: "execute_result",
          data,
          metadata: toMeta(c.metadata),
          execution_count: count,
        });
        const plain = joinSource(data["text/plain"] as string[] | undefined);
        this.log(`  Out[${count ?? " "}]: ${plain ? oneLine(plain, 200) : Object.keys(data).join(", ")}`);
        break;
      }
      case "error":
        if (outs.some((o) => o.output_type === "error" && o.ename === c.ename && o.evalue === c.evalue)) {
          break;
        }
        this.#push({
          output_type: "error",
          ename: String(c.ename ?? "Error"),
          evalue: String(c.evalue ?? ""),
          traceback: Array.isArray(c.traceback) ? c.traceback.map(String) : [],
        });
        break;
      case "clear_output":
        if (c.wait) this.#clearPending = true;
        else this.cell.outputs = [];
        break;
      default:
        break; // execute_input, comm_* and others carry no output (counted above)
    }
  }
}

function toMeta(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null ? v as Record<string, unknown> : {};
}

/** Writes kernel stream text to this process's stdout or stderr. */
export function defaultStream(name: "stdout" | "stderr", text: string): void {
  (name === "stdout" ? Deno.stdout : Deno.stderr).writeSync(new TextEncoder().encode(text));
}
