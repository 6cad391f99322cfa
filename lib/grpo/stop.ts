/**
 * Graceful stopping: a {@linkcode StopSignal} the trainer checks after every step (it then writes a
 * checkpoint and returns), and an installable, removable handler that sets it on Ctrl-C (SIGINT) and on
 * SIGTERM (what process managers, `timeout`, Docker and Slurm send), so notebooks can use the trainer
 * without losing their own signal behaviour. A second signal forces an exit (status 128 + its number).
 *
 * One stop request often arrives twice within milliseconds: a terminal sends Ctrl-C to the whole process
 * group while a parent (a sweep) forwards it too, and Slurm signals every process of a job. Signals within
 * `repeatMs` (default 1 s) of the first count as that one request; a later one forces the exit.
 * @module
 */

/** A stop request the training loop polls between steps. */
export class StopSignal {
  #reason: string | null = null;

  /** Whether a stop was requested. */
  get requested(): boolean {
    return this.#reason !== null;
  }

  /** Why (e.g. "SIGINT", "SIGTERM"), or null. */
  get reason(): string | null {
    return this.#reason;
  }

  /** Asks the loop to stop after the current step. */
  request(reason = "stop requested"): void {
    this.#reason ??= reason;
  }
}

/** The exit status of a process ended by `signal` (128 + its number), as shells report it. */
export function signalExitCode(signal: string | null): number {
  const n: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15, SIGUSR1: 10, SIGUSR2: 12 };
  return 128 + (signal && n[signal] ? n[signal] : 15);
}

/** Options of {@linkcode installStopHandler}. */
export interface StopHandlerOptions {
  /** The signals that request a stop (default SIGINT and SIGTERM). */
  signals?: readonly Deno.Signal[];
  /** Where the notice goes (default stderr). */
  log?: (line: string) => void;
  /** Called on a second signal with its name (default: exit with 128 + its number). */
  onForce?: (signal: Deno.Signal) => void;
  /** Signals within this many ms of the first are the same request (default 1000). */
  repeatMs?: number;
}

/**
 * Makes the first of `signals` request a stop on `stop` and a later one call `onForce`. Returns a function
 * that removes the handlers. Where signals are unsupported, it does nothing.
 */
export function installStopHandler(stop: StopSignal, options: StopHandlerOptions = {}): () => void {
  const log = options.log ?? ((l: string) => console.error(l));
  const force = options.onForce ?? ((sig: Deno.Signal) => Deno.exit(signalExitCode(sig)));
  const repeatMs = options.repeatMs ?? 1000;
  const signals = options.signals ?? (["SIGINT", "SIGTERM"] as const);
  let first: number | null = null;
  const handlers = signals.map((sig) => {
    const handler = () => {
      const now = performance.now();
      if (first === null) {
        first = now;
        stop.request(sig);
        const how = sig === "SIGINT" ? "Ctrl-C" : sig;
        log(
          `${how}: finishing the current step, then writing a checkpoint (${
            sig === "SIGINT" ? "press again" : "send it again"
          } to quit at once)`,
        );
      } else if (now - first > repeatMs) force(sig);
    };
    return [sig, handler] as const;
  });
  const added: (readonly [Deno.Signal, () => void])[] = [];
  for (const [sig, handler] of handlers) {
    try {
      Deno.addSignalListener(sig, handler);
      added.push([sig, handler]);
    } catch { /* unsupported here */ }
  }
  return () => {
    for (const [sig, handler] of added) {
      try {
        Deno.removeSignalListener(sig, handler);
      } catch { /* already gone */ }
    }
  };
}

/** Options of {@linkcode installSigintHandler}. */
export interface SigintOptions {
  /** Where the notice goes (default stderr). */
  log?: (line: string) => void;
  /** Called on a second signal (default: exit with 128 + its number). */
  onForce?: () => void;
  /** The one signal to listen to (default: SIGINT and SIGTERM; tests use another). */
  signal?: Deno.Signal;
  /** Signals within this many ms of the first are the same request (default 1000). */
  repeatMs?: number;
}

/**
 * {@linkcode installStopHandler} under its old name: Ctrl-C and SIGTERM (or the one `signal` given) request
 * a stop; a second signal calls `onForce`. Returns a function that removes the handler.
 */
export function installSigintHandler(signal: StopSignal, options: SigintOptions = {}): () => void {
  const { onForce } = options;
  return installStopHandler(signal, {
    log: options.log,
    signals: options.signal ? [options.signal] : undefined,
    onForce: onForce ? () => onForce() : undefined,
    repeatMs: options.repeatMs,
  });
}
