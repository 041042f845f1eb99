import journal from './meta/_journal.json';
import m0000 from './0000_settings.sql';
import m0001 from './0001_tokens_and_audit.sql';
import m0002 from './0002_users.sql';
import m0003 from './0003_devices.sql';
import m0004 from './0004_list_indexes.sql';
import m0005 from './0005_audit_count.sql';
import m0006 from './0006_device_enrollment_secret.sql';
import m0007 from './0007_lab_token_index.sql';
import m0008 from './0008_sessions.sql';
import m0009 from './0009_session_console.sql';
import m0010 from './0010_auth_lockouts.sql';
import m0011 from './0011_token_limits.sql';
import m0012 from './0012_device_key.sql';
import m0013 from './0013_usage_buckets.sql';

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
m0007,
m0008,
m0009,
m0010,
m0011,
m0012,
m0013
    }
  }
  