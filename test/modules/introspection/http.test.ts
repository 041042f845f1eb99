import { describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, client } from "../../helpers/api";
import { inProcessApp } from "../../helpers/app";

/** The requests OAuth libraries never make, written by hand: what a curl user or a broken client sends. */
interface Caller {
  id: string;
  token: string;
}

interface Case {
  name: string;
  /** Headers and form for the request, given a resource server's token and an ordinary one. */
  request: (rs: Caller, alice: Caller) => { headers?: Record<string, string>; body: string; query?: string };
  status: number;
  error?: string;
  challenge?: string | null;
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const basic = (id: string, secret: string) => ({ authorization: `Basic ${btoa(`${id}:${secret}`)}` });

const cases: Case[] = [
  {
    name: "curl -u id:token (no url-encoding, as curl sends it) is client_secret_basic",
    request: (rs, alice) => ({ headers: basic(rs.id, rs.token), body: form({ token: alice.token }) }),
    status: 200,
  },
  {
    name: "a Bearer token still works",
    request: (rs, alice) => ({ headers: { authorization: `Bearer ${rs.token}` }, body: form({ token: alice.token }) }),
    status: 200,
  },
  {
    name: "client_id beside Basic is allowed when it names the same token",
    request: (rs, alice) => ({ headers: basic(rs.id, rs.token), body: form({ token: alice.token, client_id: rs.id }) }),
    status: 200,
  },
  {
    name: "no client authentication: 401 invalid_client, challenged for Basic",
    request: (_, alice) => ({ body: form({ token: alice.token }) }),
    status: 401,
    error: "invalid_client",
    challenge: 'Basic realm="keyward"',
  },
  {
    name: "a wrong Bearer token: 401 invalid_client, challenged for Bearer",
    request: (_, alice) => ({ headers: { authorization: "Bearer kw_nope" }, body: form({ token: alice.token }) }),
    status: 401,
    error: "invalid_client",
    challenge: 'Bearer realm="keyward"',
  },
  {
    name: "a Basic header that is not base64 of id:secret: 401 invalid_client",
    request: (_, alice) => ({ headers: { authorization: "Basic !!not-base64!!" }, body: form({ token: alice.token }) }),
    status: 401,
    error: "invalid_client",
    challenge: 'Basic realm="keyward"',
  },
  {
    name: "Basic with a bad percent-escape in the secret: 401 invalid_client",
    request: (rs, alice) => ({ headers: basic(rs.id, "%zz"), body: form({ token: alice.token }) }),
    status: 401,
    error: "invalid_client",
  },
  {
    name: "a wrong client_secret: 401 invalid_client without a challenge (form fields are no HTTP scheme)",
    request: (rs, alice) => ({ body: form({ token: alice.token, client_id: rs.id, client_secret: "kw_wrong" }) }),
    status: 401,
    error: "invalid_client",
    challenge: null,
  },
  {
    name: "an ordinary token as client: 403 insufficient_scope",
    request: (rs, alice) => ({ headers: basic(alice.id, alice.token), body: form({ token: rs.token }) }),
    status: 403,
    error: "insufficient_scope",
  },
  {
    name: "Basic and Bearer-as-query at once: 400 invalid_request",
    request: (rs, alice) => ({ headers: basic(rs.id, rs.token), body: form({ token: alice.token }), query: `?token=${rs.token}` }),
    status: 400,
    error: "invalid_request",
  },
  {
    name: "Basic and client_secret at once: 400 invalid_request",
    request: (rs, alice) => ({ headers: basic(rs.id, rs.token), body: form({ token: alice.token, client_id: rs.id, client_secret: rs.token }) }),
    status: 400,
    error: "invalid_request",
  },
  {
    name: "Bearer and client_secret at once: 400 invalid_request",
    request: (rs, alice) => ({ headers: { authorization: `Bearer ${rs.token}` }, body: form({ token: alice.token, client_id: rs.id, client_secret: rs.token }) }),
    status: 400,
    error: "invalid_request",
  },
  {
    name: "client_secret without client_id: 400 invalid_request",
    request: (rs, alice) => ({ body: form({ token: alice.token, client_secret: rs.token }) }),
    status: 400,
    error: "invalid_request",
  },
  {
    name: "a client_id field that differs from Basic's: 400 invalid_request",
    request: (rs, alice) => ({ headers: basic(rs.id, rs.token), body: form({ token: alice.token, client_id: alice.id }) }),
    status: 400,
    error: "invalid_request",
  },
  {
    name: "no token field: 400 invalid_request, not a validation 422",
    request: (rs) => ({ headers: basic(rs.id, rs.token), body: form({ token_type_hint: "access_token" }) }),
    status: 400,
    error: "invalid_request",
  },
  {
    name: "a token parameter sent twice: 400 invalid_request",
    request: (rs, alice) => ({ headers: basic(rs.id, rs.token), body: `token=${alice.token}&token=${rs.token}` }),
    status: 400,
    error: "invalid_request",
  },
  {
    name: "JSON instead of a form: 400 invalid_request (it holds no token parameter)",
    request: (rs, alice) => ({ headers: { ...basic(rs.id, rs.token), "content-type": "application/json" }, body: JSON.stringify({ token: alice.token }) }),
    status: 400,
    error: "invalid_request",
  },
  {
    name: "a body over the size limit: 413 in the OAuth shape",
    request: (rs) => ({ headers: basic(rs.id, rs.token), body: form({ token: "x".repeat(1024 * 1024 + 1) }) }),
    status: 413,
    error: "invalid_request",
  },
];

describe("POST /oauth/introspect, by hand", () => {
  test.each(cases.map((c) => [c.name, c] as const))("%s", async (_, { request, status, error, challenge }) => {
    const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN });
    const rs = (await client(kw).post("/api/v1/tokens", { user: "nas", role: "resource-server" })).body as Caller;
    const alice = (await client(kw).post("/api/v1/tokens", { user: "alice" })).body as Caller;
    const { headers = {}, body, query = "" } = request(rs, alice);
    const res = await kw.fetch(`/oauth/introspect${query}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body });
    expect(res.status).toBe(status);
    const answer = (await res.json()) as Record<string, unknown>;
    if (error === undefined) {
      expect(answer).toMatchObject({ active: true, sub: "alice" });
    } else {
      expect(answer).toEqual({ error, error_description: expect.any(String) });
    }
    if (challenge !== undefined) expect(res.headers.get("www-authenticate")).toBe(challenge);
  });
});
