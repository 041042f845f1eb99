import { expect } from "bun:test";
import { ADMIN_TOKEN, client } from "./api";
import { inProcessApp } from "./app";

/** The app with an admin, and alice's tokens issued through the API. */
export async function scopedApp(env: Record<string, string> = {}) {
  const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN, ...env });
  const admin = client(kw);
  const issue = async (fields: Record<string, unknown> = {}) => {
    const res = await admin.post("/api/v1/tokens", { user: "alice", ...fields });
    expect(res.status).toBe(201);
    return res.body as { token: string; id: string; scopes: string[]; role: string; created_at: string; expires_at: string; user: string };
  };
  return { ...kw, admin, issue };
}
