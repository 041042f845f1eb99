// Preloaded by bunfig.toml for bun test: closes the PostgreSQL stores in-process apps opened (KEYWARD_TEST_PG=1).
import { afterAll, afterEach, beforeAll, beforeEach } from "bun:test";
import { storeHooks } from "./engine";

beforeAll(storeHooks.beforeAll, 60_000);
beforeEach(storeHooks.beforeEach);
afterEach(storeHooks.afterEach);
afterAll(storeHooks.afterAll);
