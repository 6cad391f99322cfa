/**
 * Test helper: the repository's source files, for the tests that check rules on the code itself
 * (`lib/layering_test.ts`, `lib/style_test.ts`).
 * @module
 */

/** The repository root. */
export const ROOT: URL = new URL("../../", import.meta.url);

/** The `.ts` files (`.d.ts` excluded) below `dir`, a folder of the repository. */
export async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(new URL(dir + "/", ROOT))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory && e.name !== "node_modules") out.push(...await sourceFiles(path));
    else if (e.isFile && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}
