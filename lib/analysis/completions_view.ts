/**
 * The completions viewer of the report and the notebooks: training completions (`completions.jsonl`,
 * with rewards and gold answers) and held-out evaluation completions (`eval_completions.jsonl`, with
 * correctness or judge scores), filterable by run, step, correctness and reward, sortable by reward, and
 * "only where the models disagree": held-out problems that runs got differently at their last
 * evaluation. Without JavaScript every row shows; the filters are a small inline script.
 * @module
 */
import { escapeHtml, scriptJson } from "./html.ts";
import type { RunEval } from "./paired.ts";
import { runLabel } from "./table.ts";

/** One completion shown by the viewer. */
export interface ViewerItem {
  /** Run label, e.g. `math_hard seed 42`. */
  run: string;
  /** Training rollout or held-out evaluation. */
  kind: "train" | "eval";
  /** Step. */
  step: number;
  /** The prompt or problem. */
  prompt: string;
  /** The completion. */
  completion: string;
  /** Gold answer or reference. */
  gold?: string;
  /** Training reward (total). */
  reward?: number;
  /** Held-out right/wrong. */
  correct?: boolean;
  /** Held-out judge score. */
  score?: number;
  /** Where a judge score came from (`fallback`: the local fallback, not Gemini). */
  source?: string;
  /** Whether the runs disagree on this held-out problem at their last evaluation. */
  disagree?: boolean;
}

/** A filter of {@linkcode filterItems} (what the viewer's controls set). */
export interface ViewerFilter {
  /** Only this run. */
  run?: string;
  /** Only this step. */
  step?: number;
  /** Only right (true) or wrong (false) held-out answers. */
  correct?: boolean;
  /** Reward (or score) at least this. */
  minReward?: number;
  /** Only held-out problems the runs disagree on. */
  disagree?: boolean;
  /** Sort: by step (default), by reward/score descending, or by problem (runs side by side). */
  sort?: "step" | "reward" | "problem";
}

const valueOf = (x: ViewerItem) => x.reward ?? x.score ?? (x.correct === undefined ? NaN : Number(x.correct));

/** The items a filter keeps, in its order (the viewer's script does the same in the page). */
export function filterItems(items: readonly ViewerItem[], f: ViewerFilter = {}): ViewerItem[] {
  const kept = items.filter((x) =>
    (f.run === undefined || x.run === f.run) && (f.step === undefined || x.step === f.step) &&
    (f.correct === undefined || x.correct === f.correct) &&
    (f.minReward === undefined || valueOf(x) >= f.minReward) && (!f.disagree || x.disagree === true)
  );
  const order = kept.map((x, i) => ({ x, i }));
  if (f.sort === "reward") order.sort((a, b) => (valueOf(b.x) - valueOf(a.x)) || a.i - b.i);
  else if (f.sort === "problem") {
    order.sort((a, b) => (a.x.prompt < b.x.prompt ? -1 : a.x.prompt > b.x.prompt ? 1 : a.i - b.i));
  } else order.sort((a, b) => a.x.step - b.x.step || a.i - b.i);
  return order.map((o) => o.x);
}

/**
 * Viewer items of held-out evaluations: every record of every run, with `disagree` set on the last
 * evaluation's records of problems (same prompt and gold) that two or more runs got differently (right
 * vs wrong, or judge scores at least `scoreGap` apart, default 2).
 */
export function evalViewerItems(runs: readonly RunEval[], opts: { scoreGap?: number } = {}): ViewerItem[] {
  const gap = opts.scoreGap ?? 2;
  const lastOf = new Map<RunEval, number>(
    runs.map((r) => [r, Math.max(-1, ...r.records.map((x) => x.step))]),
  );
  const byProblem = new Map<string, number[]>();
  const key = (p: string, g: string) => `${p}\u0000${g}`;
  for (const r of runs) {
    for (const x of r.records) {
      if (x.step !== lastOf.get(r)) continue;
      const v = typeof x.correct === "boolean" ? Number(x.correct) * gap : x.score;
      if (v === undefined) continue;
      const k = key(x.prompt, x.gold);
      if (!byProblem.has(k)) byProblem.set(k, []);
      byProblem.get(k)!.push(v);
    }
  }
  const disagree = (k: string) => {
    const vs = byProblem.get(k) ?? [];
    return vs.length > 1 && Math.max(...vs) - Math.min(...vs) >= gap;
  };
  return runs.flatMap((r) =>
    r.records.map((x) => ({
      run: runLabel(r, { withSeed: true }),
      kind: "eval" as const,
      step: x.step,
      prompt: x.prompt,
      completion: x.completion,
      gold: x.gold,
      ...(x.correct !== undefined ? { correct: x.correct } : {}),
      ...(x.score !== undefined ? { score: x.score } : {}),
      ...(x.source !== undefined ? { source: x.source } : {}),
      disagree: x.step === lastOf.get(r) && disagree(key(x.prompt, x.gold)),
    }))
  );
}

function clip(t: string, max: number): string {
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

const CELL = "text-align:left;vertical-align:top;word-break:normal;overflow-wrap:break-word;hyphens:none";

/** Options of {@linkcode completionsViewer}. */
export interface ViewerOptions {
  /** Heading (default none). */
  title?: string;
  /** Most rows rendered (default 1500; the rest are counted in a note). */
  maxItems?: number;
  /** Characters of a completion shown (default 600). */
  maxChars?: number;
}

let viewers = 0;

/** The viewer: controls (run, step, correctness, minimum reward, disagreements only, sort) over one table. */
export function completionsViewer(items: readonly ViewerItem[], opts: ViewerOptions = {}): string {
  const max = opts.maxItems ?? 1500, chars = opts.maxChars ?? 600;
  const shown = filterItems(items, { sort: "step" }).slice(0, max);
  const id = `cv${Date.now().toString(36)}${(viewers++).toString(36)}`;
  const runs = [...new Set(shown.map((x) => x.run))];
  const steps = [...new Set(shown.map((x) => x.step))].sort((a, b) => a - b);
  const opt = (v: string, label = v) => `<option value="${escapeHtml(v)}">${escapeHtml(label)}</option>`;
  const pre = (t: string) => `<pre style="white-space:pre-wrap;margin:0;${CELL}">${escapeHtml(t)}</pre>`;
  const rows = shown.map((x, i) => {
    const mark = x.correct === undefined ? "" : x.correct ? "✓ right" : "✗ wrong";
    const val = x.reward !== undefined
      ? `reward ${x.reward.toFixed(3)}`
      : x.score !== undefined
      ? `score ${x.score.toFixed(1)}${
        x.source === "fallback" ? " ⚠ judge fallback" : x.source ? ` (${x.source})` : ""
      }`
      : "";
    return `<tr data-i="${i}" data-run="${escapeHtml(x.run)}" data-step="${x.step}" data-correct="${
      x.correct === undefined ? "" : Number(x.correct)
    }" data-value="${valueOf(x)}" data-disagree="${x.disagree ? 1 : 0}" data-prompt="${
      escapeHtml(clip(x.prompt, 200))
    }"><td style="${CELL}">${escapeHtml(x.run)}<br>${x.kind} · step ${x.step}</td><td style="${CELL}">${
      pre(clip(x.prompt, 400))
    }</td><td style="${CELL}">${pre(clip(x.completion, chars))}</td><td style="${CELL}">${
      pre(x.gold ?? "—")
    }</td><td style="${CELL}">${escapeHtml([mark, val].filter(Boolean).join(" · ") || "—")}${
      x.disagree ? "<br><b>models disagree</b>" : ""
    }</td></tr>`;
  }).join("\n");
  const more = items.length > shown.length
    ? `<p>${items.length - shown.length} more not shown (limit ${max}).</p>`
    : "";
  return `<div class="completions-viewer" id="${id}" style="text-align:left">
${opts.title ? `<h3>${escapeHtml(opts.title)}</h3>` : ""}<div class="cv-controls" style="margin:6px 0">
run <select data-f="run">${opt("", "all")}${runs.map((r) => opt(r)).join("")}</select>
step <select data-f="step">${opt("", "all")}${steps.map((s) => opt(String(s))).join("")}</select>
correct <select data-f="correct">${opt("", "all")}${opt("1", "right")}${opt("0", "wrong")}</select>
min reward/score <input data-f="min" type="number" step="any" style="width:6em">
<label><input data-f="disagree" type="checkbox"> only where the models disagree</label>
sort <select data-f="sort">${opt("step")}${opt("reward", "reward/score (high first)")}${
    opt("problem")
  }</select>
<span data-f="count">${shown.length} shown</span></div>
<table style="border-collapse:collapse;width:100%"><thead><tr><th style="${CELL}">run · step</th><th style="${CELL}">prompt</th><th style="${CELL}">completion</th><th style="${CELL}">gold / reference</th><th style="${CELL}">outcome</th></tr></thead>
<tbody>${rows}</tbody></table>${more}</div>
<script>(function () {
  var root = document.getElementById(${scriptJson(id)}); if (!root) return;
  var body = root.querySelector("tbody"), rows = Array.prototype.slice.call(body.rows);
  function val(name) { return root.querySelector('[data-f="' + name + '"]'); }
  function apply() {
    var run = val("run").value, step = val("step").value, ok = val("correct").value;
    var min = parseFloat(val("min").value), dis = val("disagree").checked, sort = val("sort").value, n = 0;
    var order = rows.slice();
    if (sort === "reward") order.sort(function (a, b) { return (+b.dataset.value || -1e9) - (+a.dataset.value || -1e9) || a.dataset.i - b.dataset.i; });
    else if (sort === "problem") order.sort(function (a, b) { return a.dataset.prompt < b.dataset.prompt ? -1 : a.dataset.prompt > b.dataset.prompt ? 1 : a.dataset.i - b.dataset.i; });
    order.forEach(function (r) {
      var show = (!run || r.dataset.run === run) && (!step || r.dataset.step === step) && (!ok || r.dataset.correct === ok) &&
        (isNaN(min) || +r.dataset.value >= min) && (!dis || r.dataset.disagree === "1");
      r.style.display = show ? "" : "none"; if (show) n++; body.appendChild(r);
    });
    val("count").textContent = n + " shown";
  }
  root.querySelectorAll("[data-f]").forEach(function (e) { e.addEventListener("change", apply); e.addEventListener("input", apply); });
})();</script>`;
}

/** Viewer items of one run's training completions (`completions.jsonl` records). */
export function trainViewerItems(
  run: string,
  records: readonly {
    step: number;
    prompt: string;
    completion: string;
    reward?: number | null;
    gold?: string;
  }[],
): ViewerItem[] {
  return records.map((r) => ({
    run,
    kind: "train" as const,
    step: r.step,
    prompt: r.prompt,
    completion: r.completion,
    ...(r.gold !== undefined ? { gold: r.gold } : {}),
    ...(typeof r.reward === "number" ? { reward: r.reward } : {}),
  }));
}
