// Regenerates results/schema.json from the zod schema (`deno task schema`).
import { runFileJsonSchema } from "./schema.ts";

/** The committed JSON Schema's text: stable key order, trailing newline. */
export function jsonSchemaText(): string {
  return JSON.stringify(runFileJsonSchema(), null, 2) + "\n";
}

export const SCHEMA_PATH = new URL("../../results/schema.json", import.meta.url);

if (import.meta.main) {
  await Deno.writeTextFile(SCHEMA_PATH, jsonSchemaText());
  console.log(`wrote ${SCHEMA_PATH.pathname}`);
}
