/**
 * Generates the seven notebooks in this folder (without outputs) from code, so they are reproducible and
 * cannot drift: `deno run -A notebooks/make_notebooks.ts` rewrites them; `--check` only reports which
 * differ (exit 1). `notebooks_test.ts` checks that the committed files equal {@linkcode buildNotebooks}.
 * The notebooks are thin: markdown that explains, and cells that call lib/.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type CellSpec,
  joinSource,
  makeNotebook,
  type Notebook,
  parseNotebook,
  serializeNotebook,
  splitLines,
} from "../lib/notebook/mod.ts";
import { runMain, writeFileAtomic } from "../lib/util/mod.ts";
import { COMPARISON_TEXT, EXPERIMENT_TEXT, RUNNING, SOFT_TEXT, TESTING_TEXT } from "./notebook_text.ts";

/** This folder. */
export const NOTEBOOK_DIR: string = fileURLToPath(new URL(".", import.meta.url)).replace(/\/$/, "");

// Markdown sources end with a newline: deno 2.9.6's `fmt --check` reports a notebook whose markdown cell does
// not end with one as unformatted even though `deno fmt` leaves it unchanged.
const md = (source: string): CellSpec => ({
  type: "markdown",
  source: source.endsWith("\n") ? source : `${source}\n`,
});
const code = (source: string, tags?: string[]): CellSpec => ({
  type: "code",
  source,
  ...(tags ? { tags } : {}),
});
const params = (lines: string[]): CellSpec => code(lines.join("\n"), ["parameters"]);

/** Parameters every training notebook has. */
function trainingParams(outputDir: string | null, extra: string[] = []): string[] {
  return [
    "// Parameters (papermill style: `deno task run-notebook <notebook> --param name=value` overrides them).",
    "let max_steps = 60; // optimizer steps",
    "let seed = 42; // sampling, data order, LoRA init and the held-out split",
    'let model = "../data/tiny"; // model folder (relative to notebooks/) or hub id',
    outputDir === null
      ? "let output_dir: string | null = null; // logs and checkpoints; null: ../outputs/<experiment>_seed<seed>"
      : `let output_dir = ${JSON.stringify(outputDir)}; // logs and checkpoints (relative to notebooks/)`,
    "let overwrite_output_dir = false; // true: replace a run already in output_dir (false: such a folder stops the run)",
    'let device = "auto"; // "auto" (CUDA when it loads, else CPU), "cuda" or "cpu"',
    "let threads: number | null = null; // CPU threads; null = all cores",
    "let num_generations = 8; // completions per prompt (the GRPO group)",
    "let per_device_train_batch_size = 8; // completions per step (a multiple of num_generations)",
    "let learning_rate = 3e-4;",
    "let max_completion_length = 96; // most new tokens per completion",
    "let eval_size = 50; // held-out examples (never trained on)",
    "let eval_steps = 20; // evaluate every this many steps (and at the start and the end)",
    ...extra,
  ];
}

const RUN_ARGS = [
  "max_steps",
  "seed",
  "model",
  "output_dir",
  "overwrite_output_dir",
  "device",
  "threads",
  "num_generations",
  "per_device_train_batch_size",
  "learning_rate",
  "max_completion_length",
  "eval_size",
  "eval_steps",
];

function runCall(id: string, target: string, outExpr: string, extra: string[] = [], opts = ""): string {
  const args = RUN_ARGS.map((a) => (a === "output_dir" && outExpr !== a ? `output_dir: ${outExpr}` : a));
  const body = [...args, ...extra].map((a) => `  ${a},`).join("\n");
  return `const ${target} = await runInNotebook(${JSON.stringify(id)}, {\n${body}\n}${opts});`;
}

const RESULT_CELLS = (dirs: string): CellSpec[] => [
  md(`## Results

The standard figures from lib/analysis for this run: training reward (EMA-smoothed, faint line raw), reward per
reward function, the held-out metric, completion length and KL to the base model (and the judge fallback share
when a judge was used). Figures without data are listed with the reason instead of drawn empty.`),
  code(`import { checkIntegrity, loadRuns, showFigure } from "../lib/analysis/mod.ts";
import { completionSamples, completionsView, integrityView, runFigures } from "../lib/notebook/mod.ts";
import { display } from "../lib/util/mod.ts";

const loaded = await loadRuns(${dirs});
for (const w of loaded.warnings) console.warn(w);
const { figures, omitted } = runFigures(loaded.table);
for (const f of figures) await showFigure(f.spec);
for (const o of omitted) console.log(\`not drawn: \${o.title} (\${o.reason})\`);`),
  md(`## Integrity checks

Signs that the numbers above would mislead (each computed from the logged data).`),
  code(`await display(integrityView(checkIntegrity(loaded.table)));`),
];

const VIEWER_CELLS = (dirs: string): CellSpec[] => [
  md(`## Completions viewer

Every training completion (with its reward and the gold answer) and every held-out evaluation completion (step 0
is the base model), filterable by step, correctness and reward, and sortable by reward.`),
  code(`import { runCompletionsView } from "../lib/notebook/mod.ts";

await display(await runCompletionsView(${dirs}));`),
];

const samplesCell = (dir: string, label = "") =>
  code(
    `${
      label ? `console.log(${JSON.stringify(label)});\n` : ""
    }await display(completionsView(await completionSamples(${dir}, { n: 3 })));`,
  );

function trainingNotebook(
  file: string,
  id: string,
  extraParams: string[],
  extraArgs: string[],
  runOpts = "",
): Notebook {
  const t = EXPERIMENT_TEXT[id];
  return makeNotebook([
    md(`# ${t.title}\n\n## The reward\n\n${t.reward}`),
    md(`## What the original study expected and logged\n\n${t.study}\n\n## What to look at\n\n${t.look}`),
    md(RUNNING.replace("<id>", id).replace("<Name>.ipynb", file)),
    params(trainingParams(null, extraParams)),
    md("## Train\n\nReturns the run folder; progress redraws the plot below in place."),
    code(
      `import { runInNotebook } from "../lib/notebook/mod.ts";\n\n${
        runCall(id, "run_dir", "output_dir", extraArgs, runOpts)
      }`,
    ),
    ...RESULT_CELLS("run_dir"),
    md(
      "## Sample completions\n\nA few completions from the first and the last training step, with their rewards and advantages.",
    ),
    samplesCell("run_dir"),
    ...VIEWER_CELLS("[run_dir]"),
  ]);
}

const GEMINI_PARAM =
  "let use_gemini = true; // false: score with the offline overlap fallback only (counted)";

function softNotebook(): Notebook {
  const p = trainingParams("../outputs", [GEMINI_PARAM]);
  p[4] =
    'let output_dir = "../outputs"; // parent folder: runs go to <output_dir>/math_soft_seed<seed> and <output_dir>/dialogue_soft_seed<seed>';
  return makeNotebook([
    md(`# ${SOFT_TEXT.title}\n\n## The rewards\n\n${SOFT_TEXT.reward}`),
    md(
      `## What the original study expected and logged\n\n${SOFT_TEXT.study}\n\n## What to look at\n\n${SOFT_TEXT.look}`,
    ),
    md(
      RUNNING.replace("<id>", "math_soft").replace("<Name>.ipynb", "Soft.ipynb")
        .replace(
          "lands in `output_dir`",
          "lands in `<output_dir>/math_soft_seed<seed>` and `<output_dir>/dialogue_soft_seed<seed>`",
        ),
    ),
    params(p),
    md("## Train math_soft, then dialogue_soft"),
    code(`import { runInNotebook } from "../lib/notebook/mod.ts";
import { seedOutputDir } from "../lib/study/mod.ts";

${runCall("math_soft", "math_dir", 'seedOutputDir("math_soft", { seed, outputsDir: output_dir })')}
${
      runCall(
        "dialogue_soft",
        "dialogue_dir",
        'seedOutputDir("dialogue_soft", { seed, outputsDir: output_dir })',
        [],
        ", { gemini: use_gemini }",
      )
    }`),
    ...RESULT_CELLS("[math_dir, dialogue_dir]"),
    md(`## Comparing the two

How often a group of completions gave no gradient (all rewards equal), then the statistics of both runs and the
findings computed from them. The two held-out metrics differ (accuracy vs judge score), so the statistics
compare each run with its own start, not the two runs with each other.`),
    code(
      `import { compareExperimentStats, curveFigure, experimentStats, findingSentences, runStats } from "../lib/analysis/mod.ts";
import { sentencesView, statsView } from "../lib/notebook/mod.ts";

await showFigure(curveFigure(loaded.table, "frac_reward_zero_std", {
  title: "Share of prompt groups with identical rewards (no gradient)",
  yTitle: "frac_reward_zero_std",
}));
const rs = runStats(loaded.table);
const es = experimentStats(rs);
await display(statsView(es));
await display(sentencesView(findingSentences(es, compareExperimentStats(rs)), { heading: "Findings" }));`,
    ),
    md("## Sample completions"),
    samplesCell("math_dir", "math_soft"),
    samplesCell("dialogue_dir", "dialogue_soft"),
    ...VIEWER_CELLS("[math_dir, dialogue_dir]"),
  ]);
}

function testingNotebook(): Notebook {
  return makeNotebook([
    md(TESTING_TEXT),
    params([
      "// Parameters (papermill style).",
      'let model = "../data/tiny"; // the base model the adapters were trained on',
      'let outputs_dir = "../outputs"; // searched for runs (their last checkpoint is the final adapter)',
      'let device = "auto";',
      "let threads: number | null = null;",
      "let n_math = 50; // new math problems",
      "let n_dialogue = 20; // new dialogue prompts",
      "let max_new_tokens = 96;",
      'let dialogue_score = "judge"; // "judge" (Gemini or its counted fallback) or "perplexity" (under the base model)',
      GEMINI_PARAM,
      "let examples = 5; // problems and prompts shown side by side",
    ]),
    md("## The adapters"),
    code(`import { findAdapters } from "../lib/study/mod.ts";

const found = await findAdapters(outputs_dir);
console.log(\`found \${found.adapters.length} adapter(s) in \${outputs_dir}\`);
for (const a of found.adapters) console.log(\`  \${a.name}: \${a.dir}\`);
for (const s of found.skipped) console.log(\`  skipped \${s.dir}: \${s.reason}\`);`),
    md("## Answers from every model\n\nThe base model first, then each adapter on top of it."),
    code(`import { CausalLM } from "../lib/model/mod.ts";
import { compareModels, comparisonLines, comparisonTable, writeTestingResults } from "../lib/eval/mod.ts";
import { freshTestSets } from "../lib/study/mod.ts";
import { notebookJudge, notebookParams } from "../lib/notebook/mod.ts";
import { display, html } from "../lib/util/mod.ts";
import { UserError } from "../lib/util/mod.ts";

if (dialogue_score !== "judge" && dialogue_score !== "perplexity") {
  throw new UserError(\`parameter dialogue_score = \${JSON.stringify(dialogue_score)}: expected "judge" or "perplexity"\`);
}
const modelPath = notebookParams({ model }, Deno.cwd()).model as string;
const sets = freshTestSets({ math: n_math, dialogue: n_dialogue, modelDir: modelPath });
console.log(
  \`\${sets.problems.length} math problems and \${sets.prompts.length} dialogue prompts, none in a training split\` +
    \` (GRPO pools, pretraining corpus seed \${sets.pretrainSeed})\`,
);
const lm = await CausalLM.load(modelPath, {
  device: device as "auto" | "cuda" | "cpu",
  threads: threads ?? undefined,
});
const judge = dialogue_score === "judge" ? notebookJudge({ gemini: use_gemini }) : undefined;
const rows = await compareModels(lm, found.adapters, { ...sets, judge, maxNewTokens: max_new_tokens });
await display(html(comparisonTable(rows, { examples }), { plain: comparisonLines(rows).join("\\n") }));
console.log(\`saved for the report: \${await writeTestingResults(outputs_dir, rows)}\`);`),
  ]);
}

function comparisonNotebook(): Notebook {
  return makeNotebook([
    md(COMPARISON_TEXT),
    params([
      "// Parameters (papermill style).",
      "let run_all = false; // true: run all six experiments (for each seed) first",
      "let seeds = [42]; // seeds expected (and run with run_all)",
      'let trl_logs: string | null = "auto"; // "auto": ../../shared/data/trl-logs when it exists; null: none; or a folder',
      'let outputs_dir = "../outputs"; // where the runs are (and go)',
      "let run_params: Record<string, unknown> = {}; // options for every run_all run, e.g. { max_steps: 40 }",
      'let backend: "local" | "slurm" = "local"; // run_all here, one run after another, or as one Slurm job array',
      'let slurm: Record<string, unknown> = {}; // backend slurm: e.g. { partition: "gpu", gres: "gpu:1", time: "02:00:00" }',
      GEMINI_PARAM,
      "let window = 10; // steps in the start/end windows of the statistics",
      'let report_path = "../outputs/report.html"; // the offline HTML report',
    ]),
    md("## What exists"),
    code(
      `import { experimentStatus, resolveTrlLogs, statusLines, sweepLines } from "../lib/study/mod.ts";
import { runAllExperiments } from "../lib/notebook/mod.ts";

if (run_all) await runAllExperiments(outputs_dir, { seeds, params: run_params, gemini: use_gemini, backend, slurm });
const status = await experimentStatus(outputs_dir, { seeds });
for (const line of [...await sweepLines(outputs_dir), ...statusLines(status)]) console.log(line);
const trl = resolveTrlLogs(trl_logs);
console.log(trl ? \`TRL logs: \${trl}\` : "TRL logs: none");`,
    ),
    code(`import { describeLoaded, loadRuns } from "../lib/analysis/mod.ts";

const loaded = await loadRuns([...(status.runs.length ? [outputs_dir] : []), ...(trl ? [trl] : [])], { allowEmpty: true });
for (const line of describeLoaded(loaded)) console.log(line);
for (const w of loaded.warnings) console.warn(w);`),
    md(`## Integrity checks and settings

Errors first, then warnings, then notes. Runs whose settings (model, batch, learning rate, evaluation size, …)
differ from the others are flagged here, before any comparison; the settings table and the config diff follow.`),
    code(`import {
  checkIntegrity,
  judgeFallbackCaveats,
  settingsFindings,
  readableHtml,
  settingsHtml,
  sortFindings,
} from "../lib/analysis/mod.ts";
import { display, html } from "../lib/util/mod.ts";
import { integrityView, sentencesView, statsView } from "../lib/notebook/mod.ts";

const settings = loaded.runs.filter((r) => r.config).map((r) => ({ ...r, config: r.config! }));
await display(integrityView(sortFindings([...checkIntegrity(loaded.table, { window }), ...settingsFindings(settings)])));
const caveats = judgeFallbackCaveats(loaded.table);
for (const [k, v] of caveats) console.log(\`\${k}: \${v}\`);
await display(html(readableHtml(settingsHtml(settings)), { plain: \`settings of \${settings.length} runs\` }));`),
    md(`## Statistics

Per experiment: mean over seeds of the reward in the first and last \`window\` steps, its change and slope, and the
held-out metric before and after training, with a bootstrap 95% CI when there are two or more seeds.`),
    code(`import { compareExperimentStats, experimentStats, runStats } from "../lib/analysis/mod.ts";

const rs = runStats(loaded.table, { window });
const es = experimentStats(rs);
const comparisons = compareExperimentStats(rs, { measure: "heldOutDelta" });
await display(statsView(es, { caveats }));`),
    md(`## Paired held-out comparisons

Each run's last evaluation against its own step-0 evaluation (the base model) on the same problems, and two
experiments against each other on the same problems (same seed, same held-out split): a paired bootstrap interval
and McNemar's exact test, so a single seed already gets an interval.`),
    code(
      `import { loadEvalRecords, pairedBetween, pairedSentence, pairedTable, pairedVsBase } from "../lib/analysis/mod.ts";

const evals = await loadEvalRecords(loaded);
for (const w of evals.warnings) console.warn(w);
const vsBase = pairedVsBase(evals.runs);
const paired = [...vsBase, ...pairedBetween(evals.runs)];
await display(html(readableHtml(pairedTable(paired)), { plain: paired.map(pairedSentence).join("\\n") || "no per-example held-out logs" }));`,
    ),
    md("## Dashboard"),
    code(`import { showDashboard } from "../lib/analysis/mod.ts";

const dashboard = await showDashboard(loaded.table, { stats: es, paired: vsBase, caveats });`),
    md(`## Findings

Sentences generated from the statistics above: every number comes from the logged data, a difference whose
interval includes zero is called "not distinguishable", and every sentence about a run scored by the judge's
fallback says so.`),
    code(`import { findingSentences } from "../lib/analysis/mod.ts";

const sentences = findingSentences(es, comparisons, { paired, caveats });
await display(sentencesView(sentences, { heading: "Findings" }));`),
    md(`## Verdicts

One line per expected result of the seed study (math hard works; math soft learns but unstably; math perplexity
fails; dialogue hard/soft suffer judge breakdown; dialogue perplexity fails) and for the reference-likelihood runs.
Each is computed from held-out gains (last evaluation minus step 0) with bootstrap intervals across seeds, against
zero and against the controls \`math_format_only\` and \`math_random\`: \`reproduced\`, \`not reproduced\` or
\`inconclusive\` (fewer than two seeds is always inconclusive). The rules are in \`lib/analysis/verdicts.ts\`.`),
    code(`import { studyVerdicts } from "../lib/analysis/mod.ts";

const verdicts = studyVerdicts(loaded.table);
await display(sentencesView(verdicts.map((v) => v.line), { heading: "Verdicts" }));`),
    md(`## Completions viewer

Held-out completions of every run, by step, by correctness or score, and "only where the models disagree" on the
same problem.`),
    code(`import { completionsViewer, evalViewerItems } from "../lib/analysis/mod.ts";

const items = evalViewerItems(evals.runs);
const disagreeing = items.filter((x) => x.disagree).length;
await display(html(readableHtml(completionsViewer(items)), { plain: \`\${items.length} held-out completions, \${disagreeing} where the runs disagree\` }));`),
    md(
      "## Offline report\n\nThe same analysis as one self-contained HTML file (plotly inlined, opens without network).",
    ),
    code(`import { writeReport } from "../lib/analysis/mod.ts";

const report = await writeReport(loaded.table, { path: report_path, loaded, window, evalRuns: evals.runs });
console.log(\`wrote \${report.path} (\${report.bytes} bytes, \${report.figures} figures, \${report.sentences.length} findings)\`);`),
  ]);
}

/** Every notebook by file name, as the generator writes it. */
export function buildNotebooks(): Record<string, Notebook> {
  return {
    "MathHard.ipynb": trainingNotebook("MathHard.ipynb", "math_hard", [], []),
    "MathPerplexity.ipynb": trainingNotebook("MathPerplexity.ipynb", "math_perplexity", [], []),
    "DialogueHard.ipynb": trainingNotebook(
      "DialogueHard.ipynb",
      "dialogue_hard",
      [GEMINI_PARAM],
      [],
      ", { gemini: use_gemini }",
    ),
    "DialoguePerplexity.ipynb": trainingNotebook(
      "DialoguePerplexity.ipynb",
      "dialogue_perplexity",
      [
        "let scorer_model: string | null = null; // frozen scorer LM; null = a frozen copy of model (offline)",
        GEMINI_PARAM,
      ],
      ["perplexity_model: scorer_model"],
      ", { gemini: use_gemini }",
    ),
    "Soft.ipynb": softNotebook(),
    "Testing.ipynb": testingNotebook(),
    "Comparison.ipynb": comparisonNotebook(),
  };
}

const DENO_JSON = fileURLToPath(new URL("../deno.json", import.meta.url));

async function denoFmt(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--config", DENO_JSON, "--ext=ipynb", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(
      `deno fmt failed on a generated notebook: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * A notebook's file text: Jupyter's serialization, formatted by `deno fmt` with the repository's settings
 * (`deno fmt` formats notebooks too, so the committed files must already be in its format), with every
 * cell's source ending in a newline: deno 2.9.6's `fmt --check` reports a cell without one as unformatted
 * (though `deno fmt` itself leaves it so), and `deno fmt` leaves a cell with one as it is.
 */
export async function notebookText(nb: Notebook): Promise<string> {
  const formatted = parseNotebook(await denoFmt(serializeNotebook(nb)));
  for (const cell of formatted.cells) {
    const text = joinSource(cell.source);
    if (text && !text.endsWith("\n")) cell.source = splitLines(`${text}\n`);
  }
  const text = serializeNotebook(formatted);
  if (await denoFmt(text) !== text) throw new Error("a generated notebook is not stable under deno fmt");
  return text;
}

/** Every notebook's file name and text, as the generator writes them. */
export async function notebookTexts(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, nb] of Object.entries(buildNotebooks())) out[name] = await notebookText(nb);
  return out;
}

/** The files in `dir` that differ from what the generator writes (missing ones included). */
export async function staleNotebooks(dir: string = NOTEBOOK_DIR): Promise<string[]> {
  const out: string[] = [];
  for (const [name, text] of Object.entries(await notebookTexts())) {
    const current = await Deno.readTextFile(join(dir, name)).catch(() => null);
    if (current !== text) out.push(name);
  }
  return out;
}

if (import.meta.main) {
  await runMain(async () => {
    if (Deno.args.includes("--check")) {
      const stale = await staleNotebooks();
      if (stale.length) {
        console.error(`out of date: ${stale.join(", ")} (run deno run -A notebooks/make_notebooks.ts)`);
        Deno.exit(1);
      }
      return console.log("notebooks are up to date");
    }
    for (const [name, text] of Object.entries(await notebookTexts())) {
      await writeFileAtomic(join(NOTEBOOK_DIR, name), text);
      console.log(`wrote notebooks/${name}`);
    }
  });
}
