/**
 * Jupyter display, the one layer for it: mime bundles published on iopub by Deno's Jupyter kernel
 * (`display_data`, and `update_display_data` for live displays that redraw in place). Anywhere else (CLI,
 * tests) the helpers fall back to printing the `text/plain` part, so library code can call them
 * unconditionally. The study's views (`show`, `showFigure` in lib/analysis) and the live plot
 * (lib/notebook) build on it.
 * @module
 */

/** A Jupyter mime bundle: mime type → data. */
export type MimeBundle = Record<string, unknown>;

/** Deno's displayable protocol: an object whose `Symbol.for("Jupyter.display")` method returns a bundle. */
export const DISPLAY_SYMBOL: unique symbol = Symbol.for("Jupyter.display") as never;

/** Something the kernel renders when it is a cell's last expression, and {@linkcode display} accepts. */
export interface Displayable {
  /** Returns the mime bundle to show. */
  [DISPLAY_SYMBOL](): MimeBundle;
}

/** The part of `Deno.jupyter` used here (tests pass a fake). */
export interface JupyterApi {
  /** Publishes one iopub message of `type` with `content`. */
  broadcast(type: string, content: Record<string, unknown>): Promise<void> | void;
}

/** The Deno Jupyter API when running inside the kernel, else undefined (outside it, `Deno.jupyter` throws). */
export function jupyterApi(): JupyterApi | undefined {
  try {
    const j = (Deno as unknown as { jupyter?: JupyterApi }).jupyter;
    return typeof j?.broadcast === "function" ? j : undefined;
  } catch {
    return undefined;
  }
}

/** True when this code runs inside Deno's Jupyter kernel. */
export function isJupyter(): boolean {
  return jupyterApi() !== undefined;
}

function toBundle(obj: MimeBundle | Displayable): MimeBundle {
  const fn = (obj as Displayable)[DISPLAY_SYMBOL];
  return typeof fn === "function" ? fn.call(obj) : obj as MimeBundle;
}

/** Options of {@linkcode display}. */
export interface DisplayOptions {
  /** Mime metadata sent with the bundle. */
  metadata?: Record<string, unknown>;
  /** Outside Jupyter, print nothing (default: print `text/plain`, or a one-line placeholder). */
  quiet?: boolean;
  /** Jupyter API to use instead of `Deno.jupyter` (null: act as outside a notebook). */
  jupyter?: JupyterApi | null;
}

function fallback(bundle: MimeBundle, placeholder: boolean): void {
  const plain = bundle["text/plain"];
  if (typeof plain === "string") console.log(plain);
  else if (placeholder) console.log(`[display: ${Object.keys(bundle).join(", ") || "empty bundle"}]`);
}

/**
 * Shows a mime bundle (or a {@linkcode Displayable}) as a `display_data` output. Outside Jupyter it prints
 * the `text/plain` part (or a `[display: …]` line) unless `quiet`. Resolves to nothing, so that a cell
 * ending in `await display(…)` shows no extra result.
 */
export async function display(obj: MimeBundle | Displayable, options: DisplayOptions = {}): Promise<void> {
  const bundle = toBundle(obj);
  const j = options.jupyter === undefined ? jupyterApi() : options.jupyter;
  if (!j) {
    if (!options.quiet) fallback(bundle, true);
    return;
  }
  await j.broadcast("display_data", { data: bundle, metadata: options.metadata ?? {}, transient: {} });
}

/**
 * An HTML displayable: the last expression of a cell renders it, and `display(html(s))` shows it. Its
 * `text/plain` part (what the console fallback prints) is `options.plain`, else the HTML with tags removed.
 */
export function html(str: string, options: { plain?: string } = {}): Displayable & MimeBundle {
  const plain = options.plain ?? (str.replace(/<[^>]*>/g, "").replace(/\s+/g, " ").trim() || "[html]");
  const bundle = { "text/html": str, "text/plain": plain };
  return { ...bundle, [DISPLAY_SYMBOL]: () => bundle };
}

/** A display that can be redrawn in place; see {@linkcode liveDisplay}. */
export interface LiveDisplay {
  /** The transient display id (unique per live display). */
  readonly id: string;
  /** First call shows the bundle (`display_data`); later calls replace it (`update_display_data`). */
  update(obj: MimeBundle | Displayable, options?: { metadata?: Record<string, unknown> }): Promise<void>;
}

let liveCounter = 0;

/**
 * Creates a display that updates in place (Jupyter display ids): use it for training curves that
 * redraw every few steps. Outside Jupyter, `update` prints only a `text/plain` part, if any.
 */
export function liveDisplay(options: { id?: string; jupyter?: JupyterApi | null } = {}): LiveDisplay {
  const id = options.id ?? `live-${Date.now().toString(36)}-${(liveCounter++).toString(36)}`;
  let shown = false;
  return {
    id,
    async update(obj, opts = {}) {
      const bundle = toBundle(obj);
      const j = options.jupyter === undefined ? jupyterApi() : options.jupyter;
      if (!j) return fallback(bundle, false);
      const content = { data: bundle, metadata: opts.metadata ?? {}, transient: { display_id: id } };
      await j.broadcast(shown ? "update_display_data" : "display_data", content);
      shown = true;
    },
  };
}
