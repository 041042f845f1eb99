import type { Config } from "../../config";
import type { Store } from "../../db/client";
import { deviceStatuses } from "../../db/schema";
import { printable } from "../../lib/printable";
import { approveDevice, resetDevice } from "../../modules/devices/enrollment";
import { presentDevice } from "../../modules/devices/model";
import { labelDevice, listDevices, revokeDevice, type DeviceRow } from "../../modules/devices/service";
import { command, jsonOption, settingOptions, type Command, type CommandGroup } from "../command";
import { withDatabase } from "../database";
import { printResult, printTable, shortTime } from "../output";
import { pageOptions, pageRequest, printNext } from "../pages";

const cli = { name: "cli" };
const options = { ...jsonOption, ...settingOptions("db") };

function report(row: DeviceRow, json: boolean | undefined, what: string): void {
  printResult(json, presentDevice(row), `${what} ${row.id}${row.label ? ` (${printable(row.label)})` : ""}: ${row.status}.\n`);
}

const list: Command = command({
  name: "device list",
  summary: "List devices, newest first, a page at a time.",
  options: {
    status: { type: "string", choices: deviceStatuses, help: "only devices in this state" },
    ...pageOptions,
    ...options,
  },
  run: (flags) => {
    const request = pageRequest(flags, list);
    return withDatabase(flags, async (store) => {
      const page = await listDevices(store.db, { ...request, status: flags.status });
      const rows = page.items.map(presentDevice);
      printResult(flags.json, rows, () => {
        if (rows.length === 0) process.stdout.write("No devices.\n");
        else {
          // The key's thumbprint begins enough to tell keys apart; --json has it whole.
          const key = (d: (typeof rows)[number]) => (d.key_thumbprint === null ? null : `${d.key_thumbprint.slice(0, 10)}…`);
          printTable(["ID", "LABEL", "STATUS", "KEY", "FIRST SEEN", "LAST SEEN", "FINGERPRINT"], rows.map((d) => [d.id, d.label, d.status, key(d), shortTime(d.first_seen), shortTime(d.last_seen), d.fingerprint]));
        }
      });
      printNext(page);
      return 0;
    });
  },
});

function action(verb: "approve" | "revoke" | "reset", summary: string, done: string, apply: (store: Store, id: string, config: Config) => Promise<DeviceRow>): Command {
  return command({
    name: `device ${verb}`,
    summary,
    positionals: ["id"],
    options,
    run: (flags, [id]) =>
      withDatabase(flags, async (store, config) => {
        report(await apply(store, id, config), flags.json, done);
        return 0;
      }),
  });
}

const label = command({
  name: "device label",
  summary: "Give a device a label (an empty label removes it).",
  positionals: ["id", "label"],
  options,
  run: (flags, [id, text]) =>
    withDatabase(flags, async (store) => {
      report(await labelDevice(store, id, text, cli), flags.json, "Labelled");
      return 0;
    }),
});

export const deviceCommands: CommandGroup = {
  name: "device",
  summary: "List, approve, reset, revoke and label devices (works beside a running server).",
  subcommands: [
    list,
    action("approve", "Approve a pending device; it collects its tokens by enrolling again with its enrollment secret.", "Approved", (store, id) => approveDevice(store, id, cli)),
    action(
      "reset",
      "Let a device enroll again (lost or expired token, lost key): its tokens stop verifying and its key is unbound; under approval it is pending again and gets a new enrollment secret.",
      "Reset",
      (store, id, config) => resetDevice(store, id, config.deviceEnrollment, cli),
    ),
    action("revoke", "Revoke a device: all its tokens stop verifying (within a second on a running server).", "Revoked", (store, id) => revokeDevice(store, id, cli)),
    label,
  ],
};
