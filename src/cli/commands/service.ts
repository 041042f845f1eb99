import { mkdirSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { DomainError } from "../../lib/errors";
import { UsageError, type Command, type CommandGroup } from "../command";

interface UnitOptions {
  binary: string;
  user: string;
  data: string;
}

/**
 * A hardened systemd unit: its own user, the whole file system read-only but the data directory,
 * no new privileges, restart on failure. JIT compilation needs writable-and-executable memory, so
 * MemoryDenyWriteExecute stays off.
 */
export function systemdUnit({ binary, user, data }: UnitOptions): string {
  return `[Unit]
Description=Keyward token authority
Documentation=file://${binary}
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=${user}
Group=${user}
ExecStart=${binary} serve --db ${join(data, "keyward.db")}
WorkingDirectory=${data}
Environment=KEYWARD_LOG_FORMAT=json
# KEYWARD_ADMIN_TOKEN, SECRET_KEY, KEYWARD_TLS_CERT… can go in ${join(data, ".env")} (read by Keyward).
Restart=on-failure
RestartSec=2
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=${data}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
CapabilityBoundingSet=

[Install]
WantedBy=multi-user.target
`;
}

const install: Command = {
  name: "service install",
  summary: "Write a hardened systemd unit for this binary and print the commands that enable it.",
  synopsis: "[--user keyward] [--data /var/lib/keyward] [--unit-dir /etc/systemd/system] [--dry-run]",
  options: { user: { type: "string" }, data: { type: "string" }, "unit-dir": { type: "string" }, "dry-run": { type: "boolean" } },
  help: [
    { flag: "--user NAME", text: "the system user it runs as (default keyward)" },
    { flag: "--data DIR", text: "its data directory, the only place it may write (default /var/lib/keyward)" },
    { flag: "--unit-dir DIR", text: "where to write keyward.service (default /etc/systemd/system)" },
    { flag: "--dry-run", text: "print the unit instead of writing it" },
  ],
  async run(flags) {
    const user = (flags.user as string | undefined) ?? "keyward";
    const data = (flags.data as string | undefined) ?? "/var/lib/keyward";
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) throw new UsageError("--user must be a system user name", install);
    if (!isAbsolute(data)) throw new UsageError("--data must be an absolute path", install);
    const unit = systemdUnit({ binary: process.execPath, user, data });
    if (flags["dry-run"] === true) {
      process.stdout.write(unit);
      return 0;
    }
    const dir = (flags["unit-dir"] as string | undefined) ?? "/etc/systemd/system";
    const path = join(dir, "keyward.service");
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path, unit, { mode: 0o644 });
    } catch (error) {
      throw new DomainError("forbidden", "cannot_write_unit", `cannot write ${path}: ${(error as Error).message} (run as root, or use --dry-run)`);
    }
    process.stdout.write(
      [
        `Wrote ${path}. To enable it:`,
        "",
        `  useradd --system --home-dir ${data} --shell /usr/sbin/nologin ${user}`,
        `  install -d -o ${user} -g ${user} -m 0700 ${data}`,
        "  systemctl daemon-reload",
        "  systemctl enable --now keyward",
        `  journalctl -u keyward -f        # the first start prints the admin token`,
        "",
      ].join("\n"),
    );
    return 0;
  },
};

export const serviceCommands: CommandGroup = {
  name: "service",
  summary: "Install Keyward as a systemd service.",
  subcommands: [install],
};
