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

/** OS error codes of a machine that cannot take a write: full, over quota, read-only, not permitted, failing. */
const ENVIRONMENT_CODES = [
  "ENOSPC",
  "EDQUOT",
  "EACCES",
  "EPERM",
  "EROFS",
  "EIO",
  "EFBIG",
  "EMFILE",
  "ENFILE",
];

/**
 * The OS's reason for a failed file operation, without the operation and path Deno appends
 * (`No space left on device (os error 28)`), or null when `e` is not an OS error.
 */
export function osErrorReason(e: unknown): string | null {
  const code: unknown = e instanceof Error ? (e as Error & { code?: unknown }).code : undefined;
  if (typeof code !== "string" || !/^E[A-Z0-9]+$/.test(code)) return null;
  return (e as Error).message.split("\n")[0].replace(/: [a-z_]+ '.*'$/, "");
}

/**
 * A failed write as a one-line UserError, `cannot write <what> <path>: <reason>` (e.g. `cannot write
 * checkpoint /out/checkpoint-3: No space left on device (os error 28)`). A UserError is returned as it is.
 */
export function writeError(path: string, e: unknown, options: { what?: string } = {}): Error {
  if (e instanceof UserError) return e;
  const reason = osErrorReason(e);
  if (reason === null) return e instanceof Error ? e : new Error(String(e));
  const err = new UserError(`cannot write ${options.what ? `${options.what} ` : ""}${path}: ${reason}`);
  err.cause = e;
  return err;
}

/**
 * Runs a CLI entry point: a {@linkcode UserError} prints `error: <message>` and exits 2; an OS error of
 * the machine (disk full, over quota, read-only, permission denied) prints one `error:` line naming the
 * path and the reason and exits 2; anything else prints its stack and exits 1.
 */
export async function runMain(main: () => Promise<void> | void): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (e instanceof UserError) {
      console.error(`error: ${e.message}`);
      Deno.exit(2);
    }
    const code = (e as { code?: unknown })?.code;
    if (typeof code === "string" && ENVIRONMENT_CODES.includes(code)) {
      const m = /: ([a-z_]+) '(.*)'$/.exec((e as Error).message.split("\n")[0]);
      const where = m ? `${m[2]}: ` : "";
      console.error(`error: ${where}${osErrorReason(e)}${m ? ` (${m[1]})` : ""}`);
      Deno.exit(2);
    }
    console.error(e);
    Deno.exit(1);
  }
}
