/**
 * Summarizes an ONNX Runtime profile (the JSON trace `enableProfiling` writes): total kernel time per op type,
 * largest first, so optimization starts where the time goes.
 * @module
 */

/** One row of the summary. */
export interface OpTime {
  op: string;
  ms: number;
  calls: number;
  share: number;
}

/** Kernel time per op type in `path` (a trace of one or more runs). */
export async function summarizeProfile(path: string): Promise<OpTime[]> {
  const events = JSON.parse(await Deno.readTextFile(path)) as {
    cat: string;
    name: string;
    dur: number;
    args?: { op_name?: string };
  }[];
  const by = new Map<string, { us: number; calls: number }>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
    const op = e.args?.op_name ?? "?";
    const r = by.get(op) ?? { us: 0, calls: 0 };
    r.us += e.dur;
    r.calls++;
    total += e.dur;
    by.set(op, r);
  }
  return [...by].map(([op, r]) => ({ op, ms: r.us / 1000, calls: r.calls, share: r.us / Math.max(total, 1) }))
    .sort((a, b) => b.ms - a.ms);
}

/** A small markdown table of the top `n` op types. */
export function formatProfile(rows: OpTime[], n = 12): string {
  const lines = ["| op | ms | calls | share |", "|---|---|---|---|"];
  for (const r of rows.slice(0, n)) {
    lines.push(`| ${r.op} | ${r.ms.toFixed(1)} | ${r.calls} | ${(100 * r.share).toFixed(1)}% |`);
  }
  return lines.join("\n");
}
