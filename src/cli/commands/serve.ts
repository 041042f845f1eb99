import { loadConfig } from "../../config-load";
import { createLogger } from "../../log";
import { serve } from "../../server";
import { command, settingOptions } from "../command";

export const serveCommand = command({
  name: "serve",
  summary: "Start the HTTP server in the foreground (stop it with Ctrl-C or SIGTERM).",
  options: settingOptions("host", "port", "db", "tls-cert", "tls-key", "allow-insecure-permissions"),
  async run(flags) {
    const config = loadConfig(flags);
    await serve(config, createLogger(config));
    return 0;
  },
});
