import { loadConfig } from "../../config";
import { createLogger } from "../../log";
import { serve } from "../../server";
import { configFlags, type Command } from "../command";

export const serveCommand: Command = {
  name: "serve",
  summary: "Start the HTTP server in the foreground (stop it with Ctrl-C or SIGTERM).",
  synopsis: "[--host HOST] [--port PORT] [--db DB] [--tls-cert FILE --tls-key FILE] [--allow-insecure-permissions]",
  ...configFlags("host", "port", "db", "tlsCert", "tlsKey", "allowInsecurePermissions"),
  async run(flags) {
    const config = loadConfig(flags);
    await serve(config, createLogger(config));
    return 0;
  },
};
