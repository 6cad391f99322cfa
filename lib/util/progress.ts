/**
 * Progress reporting for long work: step counter, rate (e.g. tokens/s), ETA. Prints one line per
 * update to stderr (works in terminals, logs and notebooks alike) and calls optional listeners
 * (the notebook layer uses one to redraw a live plot).
 * @module
 */

/** One progress update. */
export interface ProgressEvent {
  /** What is running, e.g. "train" or "eval". */
  label: string;
  /** Steps done so far. */
  step: number;
  /** Total steps. */
  total: number;
  /** Seconds since start. */
  elapsed: number;
  /** Estimated seconds left. */
  eta: number;
  /** Extra fields shown after the counters, e.g. `{ reward: 0.5, "tok/s": 812 }`. */
  fields: Record<string, number | string>;
}

/** Formats seconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(seconds: number): string {
  if (!isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** Options of {@linkcode Progress}. */
export interface ProgressOptions {
  /** Print lines (default true). */
  print?: boolean;
  /** Listeners called on every update. */
  listeners?: ((e: ProgressEvent) => void)[];
}

/** A progress tracker for `total` steps. */
export class Progress {
  readonly label: string;
  readonly total: number;
  #start = performance.now();
  #print: boolean;
  #listeners: ((e: ProgressEvent) => void)[];

  /** @param label what runs; @param total how many steps */
  constructor(label: string, total: number, options: ProgressOptions = {}) {
    this.label = label;
    this.total = total;
    this.#print = options.print ?? true;
    this.#listeners = options.listeners ?? [];
  }

  /** Reports that `step` steps are done, with extra fields. Returns the event. */
  update(step: number, fields: Record<string, number | string> = {}): ProgressEvent {
    const elapsed = (performance.now() - this.#start) / 1000;
    const eta = step > 0 ? (elapsed / step) * (this.total - step) : Infinity;
    const e: ProgressEvent = { label: this.label, step, total: this.total, elapsed, eta, fields };
    if (this.#print) console.error(formatProgress(e));
    for (const l of this.#listeners) l(e);
    return e;
  }
}

/**
 * The one number format of progress lines: integers as they are, anything else with 4 significant
 * digits and no trailing zeros (`0.5`, `0.4133`, `-1.235e-7`, `812.3`).
 */
export function formatValue(v: number): string {
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

/** `key=value` pairs in the progress-line format, after `prefix`: `[eval] step 0 eval/accuracy=0.41`. */
export function formatFields(prefix: string, fields: Record<string, number | string>): string {
  const extra = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "number" ? formatValue(v) : v}`);
  return [prefix, ...extra].join(" ");
}

/** One line: `[train] step 3/10 (30%) reward=0.5 tok/s=812 elapsed 12s ETA 28s`. */
export function formatProgress(e: ProgressEvent): string {
  const pct = e.total > 0 ? Math.round((100 * e.step) / e.total) : 0;
  const extra = formatFields("", e.fields).trim();
  return `[${e.label}] step ${e.step}/${e.total} (${pct}%) ${extra}${extra ? " " : ""}elapsed ${
    formatDuration(e.elapsed)
  } ETA ${formatDuration(e.eta)}`;
}
