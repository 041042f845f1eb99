import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { hostname, networkInterfaces } from "node:os";
import { join, resolve } from "node:path";
import { parseIp } from "../../lib/cidr";
import { DomainError } from "../../lib/errors";
import { selfSignedCertificate } from "../../lib/x509";
import { command, jsonOption, UsageError, type CommandGroup } from "../command";
import { printResult } from "../output";

/** This box's names and addresses: what LAN clients will type to reach it. */
function localNames(): string[] {
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.address.startsWith("fe80"))
    .map((a) => a!.address);
  return [...new Set([hostname(), "localhost", ...addresses])];
}

const init = command({
  name: "tls init",
  summary: "Write a self-signed certificate and key for this box (keyward.crt, keyward.key) and print its fingerprint.",
  options: {
    host: { type: "string", multiple: true, value: "H", help: "a name or IP clients use; repeat for more (default: this box's name and addresses)" },
    out: { type: "string", value: "DIR", help: "where to write the files (default: the current directory)" },
    ...jsonOption,
  },
  async run(flags) {
    const hosts = flags.host ?? localNames();
    for (const host of hosts) {
      if (!parseIp(host) && !/^[A-Za-z0-9*]([A-Za-z0-9.-]{0,252})$/.test(host)) throw new UsageError(`--host ${host} is not a name or an IP address`, init);
    }
    const dir = resolve(flags.out ?? ".");
    const cert = join(dir, "keyward.crt");
    const key = join(dir, "keyward.key");
    for (const file of [cert, key]) {
      if (existsSync(file)) throw new DomainError("conflict", "file_exists", `${file} exists already; remove it or choose another --out`);
    }
    const made = await selfSignedCertificate(hosts);
    mkdirSync(dir, { recursive: true });
    writeFileSync(key, made.privateKey, { mode: 0o600 });
    writeFileSync(cert, made.certificate, { mode: 0o600 });
    printResult(
      flags.json,
      { certificate: cert, key, hosts, fingerprint: made.fingerprint },
      [
        `Wrote ${cert} and ${key} (ECDSA P-256, valid ten years) for: ${hosts.join(", ")}`,
        "",
        `SHA-256 fingerprint: ${made.fingerprint}`,
        "",
        "Serve HTTPS with them:",
        `  keyward serve --tls-cert ${cert} --tls-key ${key}`,
        "Clients can pin the fingerprint above, or trust the certificate file:",
        `  curl --cacert keyward.crt https://${hosts[0]}:8000/health`,
        "",
      ].join("\n"),
    );
    return 0;
  },
});

export const tlsCommands: CommandGroup = {
  name: "tls",
  summary: "Make a self-signed certificate so the server can speak HTTPS.",
  subcommands: [init],
};
