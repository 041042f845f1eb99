import createClient, { type Middleware } from "openapi-fetch";
// @ts-ignore: openapi.tools.ts generates it from the served document, next to a copy of this file.
import type { paths } from "./keyward";

export interface Connection {
  fetch(request: Request): Promise<Response>;
  adminToken: string;
  /** Sees every answer, to hold it against the document. */
  check: Middleware;
}

/**
 * A token's life as a client program lives it, through a client typed by the generated `paths`:
 * type-checked strictly against them, so a wrong path, body or field type fails to compile.
 */
export async function tokenLifecycle({ fetch, adminToken, check }: Connection) {
  const as = (token: string) => {
    const client = createClient<paths>({ baseUrl: "http://localhost", fetch, headers: { authorization: `Bearer ${token}` } });
    client.use(check);
    return client;
  };
  const admin = as(adminToken);
  const user = await admin.POST("/api/v1/users", { body: { username: "alice", password: "correct horse battery staple" } });
  const created = await admin.POST("/api/v1/tokens", { body: { user: "alice", name: "alice's laptop", expires_in: "30d" } });
  if (created.data === undefined) throw new Error(`creating a token answered ${created.response.status}`);
  const first = created.data;
  const me = await as(first.token).GET("/api/v1/me");
  // The hot routes answer without Elysia's run-time response check (SecuredJson): this is the check.
  const data = await as(first.token).GET("/data");
  const forwarded = await as(first.token).GET("/auth/forward");
  const requested = await as(first.token).GET("/auth/request");
  const enrolled = await as(adminToken).POST("/api/v1/tokens/main", { body: { hardware_fingerprint: "fp-lifecycle" } });
  const shortToken = enrolled.data && "short_token" in enrolled.data ? enrolled.data.short_token : "";
  const verified = await admin.GET("/api/v1/tokens/verify", { params: { query: { short_token: shortToken, hardware_fingerprint: "fp-lifecycle" } } });
  const learned = await admin.GET("/api/v1/tokens/verify", { params: { query: { short_token: shortToken } } });
  const listed = await admin.GET("/api/v1/tokens", { params: { query: { user: "alice", limit: 10 } } });
  const requests: number[] = [];
  for (const token of listed.data ?? []) requests.push(token.request_count);
  // No body: the grace period is optional, and so is the body that would carry it.
  const rotated = await admin.POST("/api/v1/tokens/{id}/rotate", { params: { path: { id: first.id } } });
  if (rotated.data === undefined) throw new Error(`rotating answered ${rotated.response.status}`);
  const second = rotated.data;
  const firstAfterRotation = await as(first.token).GET("/api/v1/me");
  const secondAfterRotation = await as(second.token).GET("/api/v1/me");
  const revoked = await admin.DELETE("/api/v1/tokens/{id}", { params: { path: { id: second.id } } });
  const secondAfterRevocation = await as(second.token).GET("/api/v1/me");
  const expiresAt: string | null = first.expires_at;
  return {
    user: user.data?.username,
    created: { user: first.user, status: first.status, expiresAt },
    me: me.data?.user,
    hot: {
      data: data.data?.message,
      forwarded: forwarded.data?.user,
      requested: requested.data?.role,
      verified: verified.data?.expires_at,
      learned: learned.data?.hardware_fingerprint,
    },
    requests,
    rotated: { replaces: first.id, id: second.id },
    firstAfterRotation: { status: firstAfterRotation.response.status, code: firstAfterRotation.error?.code },
    secondAfterRotation: secondAfterRotation.data?.token_id,
    revoked: { status: revoked.data?.status, revokedAt: revoked.data?.revoked_at },
    secondAfterRevocation: { status: secondAfterRevocation.response.status, code: secondAfterRevocation.error?.code },
  };
}
