import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { DomainError } from "../../lib/errors";
import { command, jsonOption, UsageError, type CommandGroup } from "../command";
import { printResult } from "../output";

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

const install = command({
  name: "service install",
  summary: "Write a hardened systemd unit for this binary and print the commands that enable it.",
  options: {
    user: { type: "string", value: "NAME", help: "the system user it runs as (default keyward)" },
    data: { type: "string", value: "DIR", help: "its data directory, the only place it may write (default /var/lib/keyward)" },
    "unit-dir": { type: "string", value: "DIR", help: "where to write keyward.service (default /etc/systemd/system)" },
    "dry-run": { type: "boolean", help: "print the unit instead of writing it" },
    ...jsonOption,
  },
  async run(flags) {
    const user = flags.user ?? "keyward";
    const data = flags.data ?? "/var/lib/keyward";
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) throw new UsageError("--user must be a system user name", install);
    if (!isAbsolute(data)) throw new UsageError("--data must be an absolute path", install);
    const unit = systemdUnit({ binary: process.execPath, user, data });
    const path = join(flags["unit-dir"] ?? "/etc/systemd/system", "keyward.service");
    const enable = [
      `useradd --system --home-dir ${data} --shell /usr/sbin/nologin ${user}`,
      `install -d -o ${user} -g ${user} -m 0700 ${data}`,
      "systemctl daemon-reload",
      "systemctl enable --now keyward",
    ];
    const written = flags["dry-run"] !== true;
    if (written) writeUnit(path, unit);
    printResult(flags.json, { path, written, unit, enable }, () => {
      if (!written) process.stdout.write(unit);
      else
        process.stdout.write(
        [
          `Wrote ${path}. To enable it:`,
          "",
          ...enable.map((line) => `  ${line}`),
          `  journalctl -u keyward -f        # the first start prints the admin token`,
          "",
        ].join("\n"),
      );
    });
    return 0;
  },
});

/** systemd and the tools around it read units as any user: 0644, whatever the umask (main sets 077). */
function writeUnit(path: string, unit: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, unit);
    chmodSync(path, 0o644);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DomainError("forbidden", "cannot_write_unit", `cannot write ${path}: ${reason} (run as root, or use --dry-run)`);
  }
}

export const serviceCommands: CommandGroup = {
  name: "service",
  summary: "Install Keyward as a systemd service.",
  subcommands: [install],
};
