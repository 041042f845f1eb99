import { describe, expect, test } from "bun:test";
import { buildAdminBundle } from "../../scripts/admin-bundle";
import { AuditEvent } from "../../src/modules/audit/model";
import { DeviceRecord } from "../../src/modules/devices/model";
import { SessionRecord } from "../../src/modules/sessions/model";
import { TokenRecord } from "../../src/modules/tokens/model";

describe("the admin page's script", () => {
  test("takes its record types from the server's models without carrying the models along", async () => {
    const { script } = await buildAdminBundle();
    // Text that exists only inside the models: were an import not type-only, it would be bundled.
    const modelText = [TokenRecord.properties.id.description!, DeviceRecord.properties.label.anyOf[0]!.examples![0] as string, AuditEvent.properties.count.description!, SessionRecord.properties.expires_at.description!];
    expect(modelText.filter((text) => script.includes(text))).toEqual([]);
  });
});
