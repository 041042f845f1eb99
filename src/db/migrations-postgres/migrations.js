// Written by scripts/migrations-index.ts from meta/_journal.json (npm run db:generate): do not edit.
import journal from "./meta/_journal.json";
import m0000 from "./0000_baseline.sql";
import m0001 from "./0001_change_signal.sql";
import m0002 from "./0002_auth_lockouts.sql";
import m0003 from "./0003_token_limits.sql";
import m0004 from "./0004_device_key.sql";
import m0005 from "./0005_dpop_proofs.sql";
import m0006 from "./0006_usage_buckets.sql";

export default {
  journal,
  migrations: {
    m0000,
    m0001,
    m0002,
    m0003,
    m0004,
    m0005,
    m0006,
  },
};
