import { printable } from "../../lib/printable";
import { presentDevice } from "../../modules/devices/model";
import type { Config } from "../../config";
import type { Db } from "../../db/client";
import { approveDevice, resetDevice } from "../../modules/devices/enrollment";
import { labelDevice, listDevices, revokeDevice, type DeviceRow } from "../../modules/devices/service";
import { configFlags, UsageError, type Command, type CommandGroup } from "../command";
import { withDatabase } from "../database";
import { printJson, printTable, shortTime } from "../output";
import { pageFlags, pageRequest, printNext } from "../pages";

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
  summary: "List devices, newest first, a page at a time.",
  synopsis: "[--status active|pending|revoked] [--limit N] [--cursor C] [--json]",
  options: { status: { type: "string" }, ...pageFlags.options, ...json, ...db.options },
  help: [{ flag: "--status S", text: "only devices in this state" }, ...pageFlags.help, jsonHelp, ...db.help],
  run(flags) {
    const status = flags.status as string | undefined;
    if (status !== undefined && !statuses.includes(status)) throw new UsageError(`--status must be one of ${statuses.join(", ")}`, list);
    const request = pageRequest(flags, list);
    return withDatabase(flags, (store) => {
      const page = listDevices(store.db, { ...request, status: status as DeviceRow["status"] | undefined });
      const rows = page.items.map(presentDevice);
      if (flags.json === true) printJson(rows);
      else if (rows.length === 0) process.stdout.write("No devices.\n");
      else printTable(["ID", "LABEL", "STATUS", "FIRST SEEN", "LAST SEEN", "FINGERPRINT"], rows.map((d) => [d.id, d.label, d.status, shortTime(d.first_seen), shortTime(d.last_seen), d.fingerprint]));
      printNext(page);
      return 0;
    });
  },
};

function action(verb: "approve" | "revoke" | "reset", summary: string, done: string, apply: (db: Db, id: string, config: Config) => DeviceRow): Command {
  return {
    name: `device ${verb}`,
    summary,
    synopsis: "<id> [--json]",
    positionals: ["id"],
      options: { ...json, ...db.options },
    help: [jsonHelp, ...db.help],
    run: (flags, [id]) =>
      withDatabase(flags, (store, config) => {
        report(apply(store.db, id!, config), flags.json === true, done);
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
  summary: "List, approve, reset, revoke and label devices (works beside a running server).",
  subcommands: [
    list,
    action("approve", "Approve a pending device; it collects its tokens by enrolling again with its enrollment secret.", "Approved", (db, id) => approveDevice(db, id, cli)),
    action(
      "reset",
      "Let a device enroll again (lost or expired token): its tokens stop verifying; under approval it is pending again and gets a new enrollment secret.",
      "Reset",
      (db, id, config) => resetDevice(db, id, config.deviceEnrollment, cli),
    ),
    action("revoke", "Revoke a device: all its tokens stop verifying (within a second on a running server).", "Revoked", (db, id) => revokeDevice(db, id, cli)),
    label,
  ],
};
