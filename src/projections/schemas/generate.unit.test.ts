// The committed JSON Schemas are what the code generates: change an event, regenerate, commit.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { domainEventCatalog } from "../../events/domain/index.ts";
import { generateEventSchemas, SCHEMAS_DIR } from "./generate.ts";

describe("published event schemas", () => {
  it("match the committed files (run `node src/projections/schemas/generate.ts` to update)", async () => {
    const generated = generateEventSchemas();
    expect((await readdir(SCHEMAS_DIR)).sort()).toEqual([...generated.keys()].sort());
    for (const [name, content] of generated) {
      expect(await readFile(path.join(SCHEMAS_DIR, name), "utf8"), name).toBe(content);
    }
  });

  it("cover every event type and version of the catalog", () => {
    const generated = generateEventSchemas();
    for (const entry of domainEventCatalog) {
      const schema = JSON.parse(generated.get(`${entry.type}.v${entry.schemaVersion}.json`)!);
      expect(schema.properties.type.const).toBe(entry.type);
      expect(schema.properties.data.type).toBe("object");
    }
  });
});
