/**
 * One error type for every bad input the user can fix (file, config value, dataset row, API answer).
 * Its message is one line that names the file, field or value at fault; CLIs print it without a stack.
 * @module
 */

/** A problem with the user's input, reported as one line. */
export class UserError extends Error {
  /** @param message one line naming the problem, e.g. `data.jsonl:12: missing field "answer"` */
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, " "));
    this.name = "UserError";
  }
}

/** Throws a {@linkcode UserError} with `message` unless `cond` holds. */
export function ensure(cond: unknown, message: string): asserts cond {
  if (!cond) throw new UserError(message);
}

/**
 * Runs a CLI entry point: a {@linkcode UserError} prints `error: <message>` and exits 2,
 * anything else prints its stack and exits 1.
 */
export async function runMain(main: () => Promise<void> | void): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (e instanceof UserError) {
      console.error(`error: ${e.message}`);
      Deno.exit(2);
    }
    console.error(e);
    Deno.exit(1);
  }
}
