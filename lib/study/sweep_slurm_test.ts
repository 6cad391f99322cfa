import { assert, assertEquals } from "../util/assert.ts";
import { checkSweepSpec } from "./sweep_spec.ts";
import { newManifest } from "./sweep_manifest.ts";
import { arraySpec, slurmBatchScript, slurmRunState } from "./sweep_slurm.ts";
import { k8sJobManifest, k8sJobYaml, toYaml } from "./sweep_k8s.ts";

Deno.test("arraySpec compresses indices into ranges, with %max", () => {
  assertEquals(arraySpec([0, 1, 2, 3]), "0-3");
  assertEquals(arraySpec([9, 0, 1, 5, 10, 3, 3]), "0-1,3,5,9-10");
  assertEquals(arraySpec([4], 2), "4%2");
});

Deno.test("slurmBatchScript: one array task per run, options as #SBATCH lines, requeue, task command", () => {
  const s = slurmBatchScript("/shared/sweep", {
    indices: [0, 2, 3],
    name: "grpo-sweep-x",
    slurm: {
      partition: "gpu",
      time: "02:00:00",
      cpus_per_task: 4,
      mem: "16G",
      gres: "gpu:1",
      sbatch_lines: ["--qos=long", "#SBATCH --account=lab"],
      max_parallel: 2,
    },
  });
  const lines = s.split("\n");
  for (
    const l of [
      "#!/bin/bash",
      "#SBATCH --job-name=grpo-sweep-x",
      "#SBATCH --array=0,2-3%2",
      "#SBATCH --output=/shared/sweep/logs/slurm-%A_%a.out",
      "#SBATCH --requeue",
      "#SBATCH --partition=gpu",
      "#SBATCH --time=02:00:00",
      "#SBATCH --signal=B:TERM@120",
      "#SBATCH --cpus-per-task=4",
      "#SBATCH --mem=16G",
      "#SBATCH --gres=gpu:1",
      "#SBATCH --qos=long",
      "#SBATCH --account=lab",
    ]
  ) assert(lines.includes(l), `missing line ${l} in\n${s}`);
  assert(
    lines.includes(`exec deno run -A cli/sweep.ts task '/shared/sweep' "$SLURM_ARRAY_TASK_ID" --threads 4`),
    s,
  );
  // Every #SBATCH line comes before the first command, or sbatch ignores it.
  const firstCmd = lines.findIndex((l) => l && !l.startsWith("#"));
  assert(lines.slice(firstCmd).every((l) => !l.startsWith("#SBATCH")), s);
  const lead = slurmBatchScript("/x", {
    indices: [0],
    name: "n",
    slurm: { time: "1:00:00", signal_lead: 300 },
  });
  assert(lead.split("\n").includes("#SBATCH --signal=B:TERM@300"), lead);
  const none = slurmBatchScript("/x", { indices: [0], name: "n" });
  assert(!none.includes("--signal"), "no time limit: no early signal");
});

Deno.test("k8s: an Indexed Job with one completion per run, the task command and the shared volume", () => {
  const m = newManifest(
    checkSweepSpec({ experiments: ["math_hard"], seeds: [1, 2, 3], output_dir: "/x" }),
    "k8s",
  );
  const job = k8sJobManifest(m, "grpo-sweep-x", { gpus: 1, parallelism: 2 }) as {
    spec: Record<string, unknown> & { template: { spec: { containers: Record<string, unknown>[] } } };
  };
  assertEquals(job.spec.completionMode, "Indexed");
  assertEquals(job.spec.completions, 3);
  assertEquals(job.spec.parallelism, 2);
  const c = job.spec.template.spec.containers[0];
  assert(String((c.command as string[])[2]).includes(`cli/sweep.ts task /sweep "$JOB_COMPLETION_INDEX"`));
  assertEquals((c.resources as { limits: Record<string, number> }).limits["nvidia.com/gpu"], 1);
  const yaml = k8sJobYaml(m, "grpo-sweep-x");
  assert(yaml.includes("completionMode: Indexed\n"), yaml);
  assert(yaml.includes("kind: Job\n"), yaml);
});

Deno.test("toYaml: nested maps and lists, strings quoted when YAML would read them otherwise", () => {
  assertEquals(
    toYaml({ a: [{ b: 1, c: "x y" }, "on"], d: { e: "2" }, f: [] }),
    'a:\n  - b: 1\n    c: "x y"\n  - "on"\nd:\n  e: "2"\nf: []',
  );
});

Deno.test("slurmRunState: pending with Slurm's reason, running, failed with Slurm's state and the run's error line", () => {
  assertEquals(slurmRunState({ state: "PENDING", reason: "Resources" }), {
    state: "pending",
    reason: "Resources",
  });
  assertEquals(slurmRunState({ state: "REQUEUED", reason: "" }), { state: "pending", reason: undefined });
  assertEquals(slurmRunState({ state: "COMPLETING", reason: "" }), { state: "running" });
  assertEquals(slurmRunState({ state: "TIMEOUT", reason: "TimeLimit" }), {
    state: "failed",
    reason: "TIMEOUT",
  });
  assertEquals(slurmRunState({ state: "CANCELLED", reason: "" }, "interrupted by SIGTERM"), {
    state: "failed",
    reason: "CANCELLED: interrupted by SIGTERM",
  });
  assertEquals(slurmRunState({ state: "FAILED", reason: "NonZeroExitCode" }, "option x = 1: bad"), {
    state: "failed",
    reason: "option x = 1: bad",
  });
  assertEquals(slurmRunState({ state: "FAILED", reason: "NonZeroExitCode", exitCode: "2:0" }), {
    state: "failed",
    reason: "FAILED (exit 2:0)",
  });
  assertEquals(slurmRunState({ state: "OUT_OF_MEMORY", reason: "" }).reason, "OUT_OF_MEMORY");
  assertEquals(
    slurmRunState({ state: "COMPLETED", reason: "" }).reason,
    "task ended but the run is incomplete",
  );
});
