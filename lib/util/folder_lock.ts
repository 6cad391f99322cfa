/**
 * One writer per folder: a run (or a sweep) takes `<folder>/.lock` before it writes anything there and
 * releases it when it ends (normally, on an error, or on a signal exit). The file is created atomically
 * (`createNew`, i.e. `O_CREAT|O_EXCL`) and holds who holds it: pid, host, start time (and, on Linux, the
 * process's start tick and the boot id, so a reused pid or a reboot is not taken for the holder).
 *
 * - A second writer stops at once with a one-line {@linkcode UserError} naming the holder.
 * - A lock whose process no longer exists on this host is stale: it is named in one notice and taken over.
 *   The takeover is race-safe: the stale file is renamed aside, re-read, and removed only when it is still
 *   the one found stale (else it is put back), then the lock is created with `createNew` again.
 * - A lock held from another host (a shared file system) is never broken: the error says how to remove it.
 * @module
 */
import { hostname } from "node:os";
import { join } from "node:path";
import { UserError } from "./errors.ts";

/** The lock file's name inside the folder it guards. */
export const LOCK_FILE = ".lock";

/** What a lock file holds. */
export interface LockHolder {
  /** Process id of the holder. */
  pid: number;
  /** Host name of the holder. */
  host: string;
  /** When it took the lock (ISO time). */
  since: string;
  /** Linux: the process's start time in clock ticks since boot (tells a reused pid apart). */
  proc_start?: number;
  /** Linux: the boot id (a lock from before a reboot is stale). */
  boot_id?: string;
  /** What holds it, e.g. "run" or "sweep". */
  what?: string;
  /** A random token unique to this lock. */
  token: string;
}

/** Options of {@linkcode acquireFolderLock}. */
export interface FolderLockOptions {
  /** Names the folder in messages (default "folder"), e.g. "output_dir" or "sweep folder". */
  label?: string;
  /** What takes the lock, recorded in the file (e.g. "run", "sweep"). */
  what?: string;
  /** Where the stale-lock notice goes (default stderr). */
  log?: (line: string) => void;
}

/** A held lock. `release()` (or `await using`) gives it back; it is also released when the process exits. */
export interface FolderLock extends AsyncDisposable {
  /** The lock file. */
  readonly path: string;
  /** What the file holds. */
  readonly holder: LockHolder;
  /** Removes the lock file if it is still this lock's (idempotent). */
  release(): Promise<void>;
}

function readText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** Linux: start time of process `pid` in clock ticks since boot, or null (gone, or not Linux). */
function procStart(pid: number): number | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return null;
  // Field 22, counted after the command name (which is in parentheses and may hold spaces).
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const v = Number(rest[19]);
  return Number.isFinite(v) ? v : null;
}

const bootId = (): string | undefined => readText("/proc/sys/kernel/random/boot_id")?.trim() || undefined;

/** Whether process `pid` (of this host) is alive, as far as this OS lets us tell. */
function alive(holder: LockHolder): boolean {
  if (holder.boot_id && bootId() && holder.boot_id !== bootId()) return false;
  if (Deno.build.os === "linux") {
    const start = procStart(holder.pid);
    if (start === null) return false;
    return holder.proc_start === undefined || holder.proc_start === start;
  }
  try {
    const r = new Deno.Command("kill", { args: ["-0", String(holder.pid)], stderr: "null" }).outputSync();
    return r.success;
  } catch {
    return true; // cannot tell: never break it
  }
}

function parseHolder(text: string | null): LockHolder | null {
  if (!text) return null;
  try {
    const h = JSON.parse(text);
    return Number.isInteger(h?.pid) && typeof h.host === "string" && typeof h.token === "string" ? h : null;
  } catch {
    return null;
  }
}

/** `pid 123 on host-a since 2026-01-01T10:00:00.000Z`: a holder in one phrase. */
export function describeHolder(h: LockHolder): string {
  return `pid ${h.pid} on ${h.host} since ${h.since}${h.what ? ` (${h.what})` : ""}`;
}

/** Releasers of the locks this process holds, run on exit (`Deno.exit`, the end of the main module). */
const held = new Map<string, () => void>();
let unloadHooked = false;
function hookUnload(): void {
  if (unloadHooked) return;
  unloadHooked = true;
  globalThis.addEventListener("unload", () => {
    for (const f of [...held.values()]) f();
  });
}

function tryCreate(path: string, holder: LockHolder): boolean {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path, { write: true, createNew: true });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    throw e;
  }
  try {
    f.writeSync(new TextEncoder().encode(JSON.stringify(holder) + "\n"));
    f.syncSync();
  } catch (e) {
    f.close();
    Deno.removeSync(path);
    throw e;
  }
  f.close();
  return true;
}

/**
 * Moves the stale lock `seen` out of the way; false when it was no longer there (another process took it
 * over first). Race-safe: the file is renamed aside and removed only if it is still `seen`, else put back.
 */
function removeStale(path: string, seen: LockHolder): boolean {
  const aside = `${path}.${Deno.pid}.${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}.stale`;
  try {
    Deno.renameSync(path, aside);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  const moved = parseHolder(readText(aside));
  if (moved?.token === seen.token) {
    Deno.removeSync(aside);
    return true;
  }
  // A live lock taken between our read and the rename: put it back (link fails only if yet another
  // writer created the lock in between; then that one holds it).
  try {
    Deno.linkSync(aside, path);
  } catch { /* see above */ }
  Deno.removeSync(aside);
  return false;
}

/**
 * Takes the lock of `dir` (created if missing) for this process. Held by a live process → UserError naming
 * it; held by a process gone from this host → a notice, then taken over; held from another host →
 * UserError saying how to remove it. An unreadable lock file that stays unreadable → UserError naming it.
 */
export async function acquireFolderLock(dir: string, options: FolderLockOptions = {}): Promise<FolderLock> {
  const label = options.label ?? "folder";
  const log = options.log ?? ((l: string) => console.error(l));
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const host = hostname();
  const start = Deno.build.os === "linux" ? procStart(Deno.pid) : null;
  const holder: LockHolder = {
    pid: Deno.pid,
    host,
    since: new Date().toISOString(),
    ...(start !== null ? { proc_start: start } : {}),
    ...(bootId() ? { boot_id: bootId() } : {}),
    ...(options.what ? { what: options.what } : {}),
    token: crypto.randomUUID(),
  };
  let unreadable = 0;
  for (let attempt = 0; attempt < 50; attempt++) {
    if (tryCreate(path, holder)) return heldLock(path, holder);
    const text = readText(path);
    if (text === null) continue; // released meanwhile: try again
    const other = parseHolder(text);
    if (!other) {
      // Created but not written yet (the holder is between its create and its write), or damaged.
      if (++unreadable > 20) {
        throw new UserError(
          `${label} ${dir} has an unreadable lock file ${path}; if no run is writing there, remove it`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (other.host !== host) {
      throw new UserError(
        `${label} ${dir} is in use by ${
          describeHolder(other)
        }, another host; if nothing runs there any more, remove ${path}`,
      );
    }
    if (other.pid === Deno.pid && held.has(path)) {
      throw new UserError(`${label} ${dir} is already in use by this process (${describeHolder(other)})`);
    }
    if (alive(other)) {
      throw new UserError(
        `${label} ${dir} is in use by another writer (${
          describeHolder(other)
        }); wait for it to end or choose another folder`,
      );
    }
    if (removeStale(path, other)) {
      log(
        `notice: ${label} ${dir}: taking over the lock of a writer that is gone (${describeHolder(other)})`,
      );
    }
  }
  throw new UserError(`${label} ${dir}: could not take the lock ${path} (too many writers racing for it)`);
}

function heldLock(path: string, holder: LockHolder): FolderLock {
  let released = false;
  const releaseSync = () => {
    if (released) return;
    released = true;
    held.delete(path);
    // Never remove a lock that is not ours any more.
    if (parseHolder(readText(path))?.token !== holder.token) return;
    try {
      Deno.removeSync(path);
    } catch { /* already gone */ }
  };
  hookUnload();
  held.set(path, releaseSync);
  return {
    path,
    holder,
    release: () => Promise.resolve(releaseSync()),
    [Symbol.asyncDispose]: () => Promise.resolve(releaseSync()),
  };
}
