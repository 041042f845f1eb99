// Preloaded by bunfig.toml for bun test: a hook in a preload runs once every test of the process has.
import { afterAll } from "bun:test";
import { removeTempDirs } from "./binary";

afterAll(removeTempDirs);
