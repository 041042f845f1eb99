import { printable } from "../../lib/printable";
import { presentDevice } from "../../modules/devices/model";
import { approveDevice, labelDevice, listDevices, revokeDevice, type DeviceRow } from "../../modules/devices/service";
import { configFlags, UsageError, type Command, type CommandGroup } from "../command";
import { withDatabase } from "../database";
import { printJson, printTable, shortTime } from "../output";

const cli = { name: "cli" };
const db = configFlags("db");
const json = { json: { type: "boolean" as const } };
const jsonHelp = { flag: "--json", text: "print JSON (the API's shape) instead of text" };
const statuses = ["active", "pending", "revoked"];

function report(row: DeviceRow, asJson: boolean, what: string): void {
  if (asJson) printJson(presentDevice(row));
  else process.stdout.write(`${what} ${row.id}${row.label ? ` (${printable(row.label)})` : ""}: ${row.status}.\n`);
}

const list: Command = {
  name: "device list",
  summary: "List devices, newest first.",
  synopsis: "[--status active|pending|revoked] [--json]",
  options: { status: { type: "string" }, ...json, ...db.options },
  help: [{ flag: "--status S", text: "only devices in this state" }, jsonHelp, ...db.help],
  run(flags) {
    const status = flags.status as string | undefined;
    if (status !== undefined && !statuses.includes(status)) throw new UsageError(`--status must be one of ${statuses.join(", ")}`, list);
    return withDatabase(flags, (store) => {
      const rows = listDevices(store.db, status as DeviceRow["status"] | undefined).map(presentDevice);
      if (flags.json === true) printJson(rows);
      else if (rows.length === 0) process.stdout.write("No devices.\n");
      else printTable(["ID", "LABEL", "STATUS", "FIRST SEEN", "LAST SEEN", "FINGERPRINT"], rows.map((d) => [d.id, d.label, d.status, shortTime(d.first_seen), shortTime(d.last_seen), d.fingerprint]));
      return 0;
    });
  },
};

function action(verb: "approve" | "revoke", summary: string, done: string, apply: typeof approveDevice): Command {
  return {
    name: `device ${verb}`,
    summary,
    synopsis: "<id> [--json]",
    positionals: ["id"],
    options: { ...json, ...db.options },
    help: [jsonHelp, ...db.help],
    run: (flags, [id]) =>
      withDatabase(flags, (store) => {
        report(apply(store.db, id!, cli), flags.json === true, done);
        return 0;
      }),
  };
}

const label: Command = {
  name: "device label",
  summary: "Give a device a label (an empty label removes it).",
  synopsis: "<id> <label> [--json]",
  positionals: ["id", "label"],
  options: { ...json, ...db.options },
  help: [jsonHelp, ...db.help],
  run: (flags, [id, text]) =>
    withDatabase(flags, (store) => {
      report(labelDevice(store.db, id!, text ?? null, cli), flags.json === true, "Labelled");
      return 0;
    }),
};

export const deviceCommands: CommandGroup = {
  name: "device",
  summary: "List, approve, revoke and label devices (works beside a running server).",
  subcommands: [
    list,
    action("approve", "Approve a pending device; it collects its tokens by enrolling again.", "Approved", approveDevice),
    action("revoke", "Revoke a device: all its tokens stop verifying (within a second on a running server).", "Revoked", revokeDevice),
    label,
  ],
};
