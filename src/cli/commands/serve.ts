import { loadConfig } from "../../config";
import { createLogger } from "../../log";
import { serve } from "../../server";
import { configFlags, type Command } from "../command";

export const serveCommand: Command = {
  name: "serve",
  summary: "Start the HTTP server in the foreground (stop it with Ctrl-C or SIGTERM).",
  synopsis: "[--host HOST] [--port PORT] [--db DB]",
  ...configFlags("host", "port", "db"),
  async run(flags) {
    const config = loadConfig(flags);
    await serve(config, createLogger(config));
    return 0;
  },
};
