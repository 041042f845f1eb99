// Preloaded by bunfig.toml when running from source (tests, `bun src/main.ts`).
import { plugin } from "bun";
import { adminBundlePlugin, buildAdminBundle } from "./admin-bundle";

plugin(adminBundlePlugin(await buildAdminBundle()));
