/**
 * Secrets (issue 6, item 4): with sentinel values in `GEMINI_API_KEY` and `HF_TOKEN`, nothing the project
 * writes or prints contains them: a dialogue_hard run against the loopback fake Gemini (which fails 30%
 * of calls and quotes the key in its error bodies), a run whose key the server refuses, a model
 * download the hub refuses (quoting the token), and a notebook run under run-notebook. Every file under
 * the output folders and all captured stdout/stderr are searched for the sentinels.
 * @module
 */
import { join } from "node:path";
import { startFakeGemini } from "../lib/judge/fake_gemini.ts";
import { makeNotebook, writeNotebook } from "../lib/jupyter/mod.ts";
import { assert, assertEquals } from "../lib/util/assert.ts";
import { type CliOutput, listFiles, paramArgs, REPO_ROOT, runCli, TINY_PARAMS } from "./testing.ts";

const GEMINI_KEY = "SENTINEL-7f3a9c";
const HF_TOKEN = "SENTINEL-hf-41d0e2";
const SENTINELS = [GEMINI_KEY, HF_TOKEN];

const TMP = await Deno.makeTempDir({ prefix: "secrets-test-" });
// The notebook lives inside the repo (under the git-ignored outputs/) so its kernel finds deno.json.
const NB_DIR = join(REPO_ROOT, "outputs", `.secrets-test-${Deno.pid}`);
globalThis.addEventListener("unload", () => {
  Deno.removeSync(TMP, { recursive: true });
  try {
    Deno.removeSync(NB_DIR, { recursive: true });
  } catch { /* already gone */ }
});

const tiny = (out: string, extra: Record<string, unknown> = {}) =>
  paramArgs({ ...TINY_PARAMS, max_steps: 2, eval_size: 2, output_dir: join(TMP, out), ...extra });

/** Where each sentinel was found in `text`, as "label: sentinel". */
function leaks(label: string, text: string): string[] {
  return SENTINELS.filter((s) => text.includes(s)).map((s) => `${label}: ${s}`);
}

async function leaksInFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of await listFiles(dir)) {
    out.push(...leaks(f, new TextDecoder("latin1").decode(await Deno.readFile(f))));
  }
  return out;
}

Deno.test({
  name: "secrets: GEMINI_API_KEY and HF_TOKEN never appear in outputs, logs, notebooks or error messages",
  sanitizeResources: false,
  fn: async () => {
    const env = (baseUrl: string, extra: Record<string, string> = {}) => ({
      GEMINI_API_KEY: GEMINI_KEY,
      HF_TOKEN,
      GEMINI_BASE_URL: baseUrl,
      GEMINI_JUDGE_FALLBACK: "",
      HF_HOME: join(TMP, "hf_home"),
      ...extra,
    });
    const printed: [string, CliOutput][] = [];
    const faulty = startFakeGemini({ failRate: 0.3, seed: 4, echoKey: true, slowMs: 100 });
    const refusing = startFakeGemini({ auth: 401, echoKey: true });
    const hubSeen: string[] = [];
    const hub = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      const auth = req.headers.get("authorization") ?? "";
      hubSeen.push(auth);
      return new Response(`{"error": "Invalid credentials in Authorization header: ${auth}"}`, {
        status: 401,
      });
    });
    try {
      // 1. A dialogue run whose judge fails now and then, with error bodies quoting the key.
      printed.push([
        "experiment",
        await runCli("cli/experiment.ts", ["dialogue_hard", ...tiny("dialogue")], {
          env: env(faulty.baseUrl),
        }),
      ]);
      assertEquals(printed[0][1].code, 0, { msg: printed[0][1].stderr });
      assert(faulty.requests.some((r) => r.apiKey === GEMINI_KEY), "the key was used");
      assert(Object.values(faulty.failures).some((n) => n > 0), "some calls failed");

      // 2. The key refused (error body quoting it), no fallback: the run stops with an error.
      const refused = await runCli("cli/experiment.ts", ["dialogue_hard", ...tiny("refused")], {
        env: env(refusing.baseUrl, { GEMINI_JUDGE_FALLBACK: "none" }),
      });
      assertEquals(refused.code, 2, { msg: refused.stderr });
      printed.push(["refused key", refused]);

      // 3. A hub model download refused (the error body quoting the token).
      const download = await runCli("cli/experiment.ts", [
        "math_hard",
        ...tiny("hub", { model: "acme/private-llama" }),
      ], {
        env: env(faulty.baseUrl, { HF_ENDPOINT: `http://127.0.0.1:${hub.addr.port}` }),
      });
      assertEquals(download.code, 2, { msg: download.stderr });
      assert(download.stderr.includes("HTTP 401"), download.stderr);
      assert(hubSeen.includes(`Bearer ${HF_TOKEN}`), "the token was sent to the hub");
      printed.push(["hub download", download]);

      // 4. A notebook that trains dialogue_hard (the kernel inherits the environment).
      await Deno.mkdir(NB_DIR, { recursive: true });
      const nb = join(NB_DIR, "secrets.ipynb");
      const lib = new URL("../lib/notebook/experiment.ts", import.meta.url).href;
      await writeNotebook(
        nb,
        makeNotebook([
          {
            type: "code",
            source: `let output_dir = ${JSON.stringify(join(TMP, "notebook_run"))};`,
            tags: ["parameters"],
          },
          {
            type: "code",
            source: [
              `import { runInNotebook } from ${JSON.stringify(lib)};`,
              `console.log("key set:", (Deno.env.get("GEMINI_API_KEY") ?? "").length > 0);`,
              `await runInNotebook("dialogue_hard", { ...${
                JSON.stringify({
                  ...TINY_PARAMS,
                  max_steps: 2,
                  eval_size: 2,
                  model: join(REPO_ROOT, "data/tiny"),
                })
              }, output_dir });`,
            ].join("\n"),
          },
        ]),
      );
      const notebook = await runCli("cli/run_notebook.ts", [nb, "--out", join(TMP, "notebooks")], {
        env: env(faulty.baseUrl),
      });
      assertEquals(notebook.code, 0, { msg: notebook.stderr });
      assert(notebook.stdout.includes("key set: true"), notebook.stdout);
      printed.push(["run-notebook", notebook]);

      const found = [
        ...printed.flatMap((
          [label, o],
        ) => [...leaks(`${label} stdout`, o.stdout), ...leaks(`${label} stderr`, o.stderr)]),
        ...await leaksInFiles(TMP),
      ];
      assertEquals(found, [], { msg: "sentinels found" });
      const written = await listFiles(TMP);
      for (
        const f of ["dialogue/run_config.json", "notebook_run/run_config.json", "notebooks/secrets.ipynb"]
      ) {
        assert(written.includes(join(TMP, f)), `${f} was written (and searched)`);
      }
    } finally {
      await faulty.close();
      await refusing.close();
      await hub.shutdown();
    }
  },
});
