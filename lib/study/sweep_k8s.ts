/**
 * `--emit k8s`: the sweep as a Kubernetes Indexed Job (`completionMode: Indexed`, one completion per run).
 * Each pod runs `deno run -A cli/sweep.ts task /sweep $JOB_COMPLETION_INDEX` from an image that holds the
 * repository, with the sweep folder on a shared volume (a ReadWriteMany PersistentVolumeClaim) mounted at
 * `/sweep`; a retried pod resumes its run from the latest checkpoint, as a requeued Slurm task does.
 * Written for users on Kubernetes; this project does not run it.
 * @module
 */
import type { SweepManifest } from "./sweep_manifest.ts";

/** Options of {@linkcode k8sJobManifest}. */
export interface K8sOptions {
  /** Container image holding the repository at `workdir` and Deno (default `grpo-ts:latest`). */
  image?: string;
  /** The repository's folder in the image (default `/app`). */
  workdir?: string;
  /** PersistentVolumeClaim holding the sweep folder (default `grpo-sweep`). */
  claim?: string;
  /** Pods at once (default: every run). */
  parallelism?: number;
  /** CPU request per pod (default 2), also the runs' `threads`. */
  cpus?: number;
  /** Memory request per pod (default `8Gi`). */
  memory?: string;
  /** GPUs per pod (`nvidia.com/gpu`; default none). */
  gpus?: number;
  /** Retries per run (default 3). */
  retries?: number;
}

/** The Job object (Kubernetes batch/v1). */
export function k8sJobManifest(
  m: SweepManifest,
  name: string,
  options: K8sOptions = {},
): Record<string, unknown> {
  const cpus = options.cpus ?? 2;
  const limits: Record<string, unknown> = {};
  if (options.gpus) limits["nvidia.com/gpu"] = options.gpus;
  const n = m.runs.length;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, labels: { app: "grpo-ts-sweep" } },
    spec: {
      completionMode: "Indexed",
      completions: n,
      parallelism: Math.min(n, options.parallelism ?? n),
      backoffLimitPerIndex: options.retries ?? 3,
      maxFailedIndexes: n,
      template: {
        metadata: { labels: { app: "grpo-ts-sweep", sweep: name } },
        spec: {
          restartPolicy: "Never",
          containers: [{
            name: "run",
            image: options.image ?? "grpo-ts:latest",
            workingDir: options.workdir ?? "/app",
            command: [
              "sh",
              "-c",
              `exec deno run -A cli/sweep.ts task /sweep "$JOB_COMPLETION_INDEX" --threads ${cpus}`,
            ],
            resources: {
              requests: { cpu: String(cpus), memory: options.memory ?? "8Gi" },
              ...(Object.keys(limits).length ? { limits } : {}),
            },
            volumeMounts: [{ name: "sweep", mountPath: "/sweep" }],
          }],
          volumes: [{ name: "sweep", persistentVolumeClaim: { claimName: options.claim ?? "grpo-sweep" } }],
        },
      },
    },
  };
}

const plain = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;

function scalar(v: unknown): string {
  if (typeof v === "string") {
    return plain.test(v) && !/^(true|false|null|yes|no|on|off)$/i.test(v) ? v : JSON.stringify(v);
  }
  return JSON.stringify(v);
}

/** A small YAML writer for plain data (maps, lists, strings, numbers, booleans). */
export function toYaml(value: unknown, indent = ""): string {
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return value.map((v) => {
      const inner = toYaml(v, indent + "  ");
      return `${indent}- ${typeof v === "object" && v !== null ? inner.trimStart() : inner}`;
    }).join("\n");
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value);
    if (!entries.length) return "{}";
    return entries.map(([k, v]) => {
      if (typeof v === "object" && v !== null && (Array.isArray(v) ? v.length : Object.keys(v).length)) {
        return `${indent}${k}:\n${toYaml(v, indent + "  ")}`;
      }
      return `${indent}${k}: ${toYaml(v, indent + "  ").trim()}`;
    }).join("\n");
  }
  return scalar(value);
}

/** The YAML file `--emit k8s` writes: a comment on how to use it, then the Job. */
export function k8sJobYaml(m: SweepManifest, name: string, options: K8sOptions = {}): string {
  return [
    `# Kubernetes Indexed Job for the sweep ${name} (${m.runs.length} runs), written by \`deno task sweep --emit k8s\`.`,
    "# Copy the sweep folder (sweep.json) onto the volume of the PersistentVolumeClaim below, then:",
    "#   kubectl apply -f k8s-job.yaml   # one pod per run, index = the run's index in sweep.json",
    "#   kubectl get pods -l app=grpo-ts-sweep",
    "# Results land in the sweep folder on the volume, one folder per run, as with the other backends.",
    toYaml(k8sJobManifest(m, name, options)),
    "",
  ].join("\n");
}
