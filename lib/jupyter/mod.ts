/**
 * A headless Jupyter client for Deno notebooks: nbformat 4 read/validate/build/strip, committing
 * notebooks without outputs (`nb-clean`) and type-checking their cells, papermill-style parameters, and a
 * runner that executes a notebook in a real `deno jupyter` kernel over ZeroMQ. It knows nothing of the
 * study: the views shown inside notebooks are in lib/analysis, running experiments from a notebook in
 * lib/notebook, and display helpers for code running in the kernel in lib/util/jupyter.ts.
 * @module
 */
export * from "./nbformat.ts";
export * from "./clean.ts";
export * from "./params.ts";
export * from "./runner.ts";
export { CellInterruptedError, CellTimeoutError, Kernel, KernelDiedError } from "./kernel.ts";
export type { ExecuteOptions, ExecuteOutcome, KernelStartOptions } from "./kernel.ts";
export type { JupyterMessage, MessageHeader } from "./wire.ts";
