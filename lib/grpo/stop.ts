/**
 * Graceful stopping: a {@linkcode StopSignal} the trainer checks after every step (it then writes a
 * checkpoint and returns), and an installable, removable SIGINT (Ctrl-C) handler that sets it, so
 * notebooks can use the trainer without losing their own Ctrl-C behaviour. A second Ctrl-C forces
 * an exit.
 * @module
 */

/** A stop request the training loop polls between steps. */
export class StopSignal {
  #reason: string | null = null;

  /** Whether a stop was requested. */
  get requested(): boolean {
    return this.#reason !== null;
  }

  /** Why (e.g. "SIGINT"), or null. */
  get reason(): string | null {
    return this.#reason;
  }

  /** Asks the loop to stop after the current step. */
  request(reason = "stop requested"): void {
    this.#reason ??= reason;
  }
}

/** Options of {@linkcode installSigintHandler}. */
export interface SigintOptions {
  /** Where the notice goes (default stderr). */
  log?: (line: string) => void;
  /** Called on a second Ctrl-C (default: exit with status 130). */
  onForce?: () => void;
  /** The signal to listen to (default "SIGINT"; tests use another). */
  signal?: Deno.Signal;
}

/**
 * Makes Ctrl-C request a stop on `signal` (the first press) and call `onForce` (the second press).
 * Returns a function that removes the handler. Where signals are unsupported, it does nothing.
 */
export function installSigintHandler(signal: StopSignal, options: SigintOptions = {}): () => void {
  const log = options.log ?? ((l: string) => console.error(l));
  const force = options.onForce ?? (() => Deno.exit(130));
  const sig = options.signal ?? "SIGINT";
  let presses = 0;
  const handler = () => {
    presses++;
    if (presses === 1) {
      signal.request(sig);
      log("Ctrl-C: finishing the current step, then writing a checkpoint (press again to quit at once)");
    } else force();
  };
  try {
    Deno.addSignalListener(sig, handler);
  } catch {
    return () => {};
  }
  return () => {
    try {
      Deno.removeSignalListener(sig, handler);
    } catch { /* already gone */ }
  };
}
