/**
 * Notebooks: nbformat 4 read/validate/build/strip, display helpers for cells running in Deno's
 * Jupyter kernel, papermill-style parameters, and a headless runner that executes a notebook in a
 * real `deno jupyter` kernel over ZeroMQ.
 * @module
 */
export * from "./nbformat.ts";
export * from "./clean.ts";
export * from "./display.ts";
export * from "./params.ts";
export * from "./runner.ts";
export { CellInterruptedError, CellTimeoutError, Kernel, KernelDiedError } from "./kernel.ts";
export type { ExecuteOptions, ExecuteOutcome, KernelStartOptions } from "./kernel.ts";
export type { JupyterMessage, MessageHeader } from "./wire.ts";
