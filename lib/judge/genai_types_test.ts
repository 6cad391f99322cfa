// @ts-types="./genai_types.d.ts"
import { ApiError, GoogleGenAI, Type } from "@google/genai";
import { fileURLToPath as fromFileUrl } from "node:url";
import { assert, assertEquals } from "../util/assert.ts";

const COMPAT = (shim: string) => `
import type * as real from "@google/genai";
import type * as shim from ${JSON.stringify(shim)};
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Sent = Omit<shim.GenerateContentConfig, "responseSchema">;
type Params = Omit<shim.GenerateContentParameters, "config"> & { config?: Sent };
type NoEnum<S> = Omit<S, "type" | "properties" | "items" | "anyOf">;
// Enum keys agree (values are checked at run time: enums from two declarations never inter-assign).
export const typeKeys: Same<keyof typeof real.Type, keyof typeof shim.Type> = true;
// What we send is accepted by the real SDK; what it returns fits what we read.
export const config: real.GenerateContentConfig = {} as Sent;
export const content: real.Content = {} as shim.Content;
export const options: real.GoogleGenAIOptions = {} as shim.GoogleGenAIOptions;
export const schema: NoEnum<real.Schema> = {} as NoEnum<shim.Schema>;
export const response: shim.GenerateContentResponse = {} as real.GenerateContentResponse;
export const generate: (p: Params) => Promise<shim.GenerateContentResponse> = {} as real.Models["generateContent"];
export const client: { readonly models: { generateContent: typeof generate } } = {} as real.GoogleGenAI;
export const ctor: new (o: shim.GoogleGenAIOptions) => unknown = {} as typeof real.GoogleGenAI;
export const errCtor: new (o: shim.ApiErrorInfo) => Error & { status: number } = {} as typeof real.ApiError;
`;

Deno.test("genai_types.d.ts matches the real @google/genai typings (deno check in a subprocess)", async () => {
  const shim = fromFileUrl(new URL("./genai_types.d.ts", import.meta.url));
  const config = fromFileUrl(new URL("../../deno.json", import.meta.url));
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/compat.ts`;
    await Deno.writeTextFile(file, COMPAT(shim));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--config", config, file],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const msg = new TextDecoder().decode(out.stderr);
    assert(out.success, `genai_types.d.ts drifted from the SDK:\n${msg}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("genai_types.d.ts: run-time values of the real SDK match the declared ones", () => {
  assertEquals({ ...Type }, {
    TYPE_UNSPECIFIED: "TYPE_UNSPECIFIED",
    STRING: "STRING",
    NUMBER: "NUMBER",
    INTEGER: "INTEGER",
    BOOLEAN: "BOOLEAN",
    ARRAY: "ARRAY",
    OBJECT: "OBJECT",
    NULL: "NULL",
  });
  const e = new ApiError({ message: "m", status: 429 });
  assert(e instanceof Error && e.status === 429 && e.message === "m");
  const ai = new GoogleGenAI({ apiKey: "k", httpOptions: { baseUrl: "http://127.0.0.1:9" } });
  assertEquals(typeof ai.models.generateContent, "function");
});
