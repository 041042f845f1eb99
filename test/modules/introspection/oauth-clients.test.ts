import { beforeAll, describe, expect, test } from "bun:test";
import * as oauth from "oauth4webapi";
import * as openid from "openid-client";
import { generateToken } from "../../../src/lib/token-format";
import { activeIntrospection, ADMIN_TOKEN, client } from "../../helpers/api";
import { inProcessApp } from "../../helpers/app";

/**
 * Two standard OAuth client libraries introspect tokens as they would against any authorization
 * server: their own client authentication, their own response parsing. Only their fetch is ours,
 * so the app answers in-process and its clock can be moved to expire a token.
 */
const ISSUER = "http://localhost";
const server: oauth.AuthorizationServer = { issuer: ISSUER, introspection_endpoint: `${ISSUER}/oauth/introspect` };

interface Issued {
  id: string;
  token: string;
}

async function keyward(peer = "127.0.0.1") {
  const kw = await inProcessApp({ KEYWARD_ADMIN_TOKEN: ADMIN_TOKEN }, {}, { peer });
  const fetch = (url: string, init?: RequestInit) => kw.app.handle(new Request(url, init));
  const issue = async (fields: Record<string, string>): Promise<Issued> => {
    const res = await client(kw).post("/api/v1/tokens", fields);
    expect(res.status).toBe(201);
    return res.body;
  };
  return { kw, fetch, issue };
}

type Introspect = (caller: Issued, token: string) => Promise<Record<string, unknown>>;

/** Each library and each client authentication it offers, as a resource server would set it up. */
function introspectors(fetch: (url: string, init?: RequestInit) => Promise<Response>): [string, Introspect][] {
  const withOauth4webapi = (auth: (secret: string) => oauth.ClientAuth): Introspect => async (caller, token) => {
    const as = server;
    const rs: oauth.Client = { client_id: caller.id };
    const response = await oauth.introspectionRequest(as, rs, auth(caller.token), token, { [oauth.allowInsecureRequests]: true, [oauth.customFetch]: fetch });
    return oauth.processIntrospectionResponse(as, rs, response);
  };
  const withOpenidClient = (auth?: (secret: string) => openid.ClientAuth): Introspect => async (caller, token) => {
    const config = auth ? new openid.Configuration(server, caller.id, caller.token, auth(caller.token)) : new openid.Configuration(server, caller.id, caller.token);
    openid.allowInsecureRequests(config);
    config[openid.customFetch] = (url, options) => fetch(url, options as RequestInit);
    return openid.tokenIntrospection(config, token);
  };
  return [
    ["oauth4webapi, client_secret_basic", withOauth4webapi(oauth.ClientSecretBasic)],
    ["oauth4webapi, client_secret_post", withOauth4webapi(oauth.ClientSecretPost)],
    ["openid-client, its default (client_secret_post)", withOpenidClient()],
    ["openid-client, client_secret_basic", withOpenidClient(openid.ClientSecretBasic)],
  ];
}

/** The error a library threw, for asserting on its class and code. */
async function failure(run: Promise<unknown>): Promise<Error & { code?: string; status?: number; error?: string; cause?: unknown; response?: Response }> {
  try {
    await run;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the library to throw");
}

const introspecting = await keyward();
const refusing = await keyward();

describe("OAuth client libraries introspect tokens", () => {
  const { kw, fetch, issue } = introspecting;
  let resourceServer: Issued;
  let alice: Issued & { user: string; role: string; created_at: string; expires_at: string };
  let revoked: Issued;
  let expiring: Issued;

  beforeAll(async () => {
    resourceServer = await issue({ user: "nas", role: "resource-server" });
    alice = (await issue({ user: "alice", role: "analyst" })) as typeof alice;
    revoked = await issue({ user: "carol" });
    expect((await client(kw).delete(`/api/v1/tokens/${revoked.id}`)).status).toBe(200);
    expiring = await issue({ user: "dave", expires_in: "45s" });
  });

  describe.each(introspectors(fetch))("%s", (_, introspect) => {
    test("an active token: every RFC 7662 field Keyward gives", async () => {
      expect(await introspect(resourceServer, alice.token)).toEqual(activeIntrospection(alice));
    });

    test("a revoked token and an unknown one are only {active: false}", async () => {
      expect(await introspect(resourceServer, revoked.token)).toEqual({ active: false });
      expect(await introspect(resourceServer, generateToken())).toEqual({ active: false });
    });

    test("the admin token may introspect too, as a client whose id is its token id", async () => {
      const admin = (await client(kw).get<{ token_id: string }>("/api/v1/me")).body;
      expect(await introspect({ id: admin.token_id, token: ADMIN_TOKEN }, alice.token)).toMatchObject({ active: true, sub: "alice" });
    });
  });

  test("an expired token is only {active: false}, through every library and method", async () => {
    const [[, first]] = introspectors(fetch) as [[string, Introspect]];
    expect(await first(resourceServer, expiring.token)).toMatchObject({ active: true, sub: "dave" });
    kw.clock.advance(46_000);
    for (const [, introspect] of introspectors(fetch)) expect(await introspect(resourceServer, expiring.token)).toEqual({ active: false });
  });
});

describe("OAuth client libraries read Keyward's refusals as OAuth errors", () => {
  const { kw, fetch, issue } = refusing;
  let resourceServer: Issued;
  let alice: Issued;
  beforeAll(async () => {
    resourceServer = await issue({ user: "nas", role: "resource-server" });
    alice = await issue({ user: "alice" });
  });
  const [basic, post, openidPost, openidBasic] = introspectors(fetch).map(([, introspect]) => introspect);
  const wrongSecret = () => ({ id: resourceServer.id, token: generateToken() });

  test.each([
    ["oauth4webapi", () => basic!],
    ["openid-client", () => openidBasic!],
  ])("%s, client_secret_basic with a wrong secret: a challenge for Basic, and invalid_client in the body", async (_, introspect) => {
    const error = await failure(introspect()(wrongSecret(), alice.token));
    expect(error).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    expect(error.code).toBe(oauth.WWW_AUTHENTICATE_CHALLENGE);
    expect(error.status).toBe(401);
    expect(error.cause).toEqual([{ scheme: "basic", parameters: { realm: "keyward" } }]);
    expect(await error.response!.json()).toEqual({ error: "invalid_client", error_description: "Client authentication failed" });
  });

  test.each([
    ["oauth4webapi", () => post!],
    ["openid-client", () => openidPost!],
  ])("%s, client_secret_post with a wrong secret: a 401 invalid_client response body error", async (_, introspect) => {
    const error = await failure(introspect()(wrongSecret(), alice.token));
    expect(error).toBeInstanceOf(oauth.ResponseBodyError);
    expect(error.code).toBe(oauth.RESPONSE_BODY_ERROR);
    expect(error).toMatchObject({ status: 401, error: "invalid_client" });
  });

  test("a good secret under another token's id is invalid_client, a failure the core counts and audits", async () => {
    const failures = () => /keyward_authentications_total\{outcome="failure",reason="invalid_credentials"\} (\d+)/.exec(kw.metrics.render([]))?.[1] ?? "0";
    const before = Number(failures());
    const error = await failure(basic!({ id: alice.id, token: resourceServer.token }, alice.token));
    expect(error).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    expect(await error.response!.json()).toMatchObject({ error: "invalid_client" });
    expect(Number(failures())).toBe(before + 1);
    await kw.flush();
    const audit = await client(kw).get("/api/v1/audit?action=auth.failed");
    expect(audit.body).toEqual(expect.arrayContaining([expect.objectContaining({ token_id: resourceServer.id, detail: "token invalid_credentials" })]));
  });

  test("a caller without the role is insufficient_scope (403), whichever method it uses", async () => {
    for (const introspect of [basic!, post!, openidPost!, openidBasic!]) {
      const error = await failure(introspect(alice, resourceServer.token));
      expect(error).toBeInstanceOf(oauth.ResponseBodyError);
      expect(error).toMatchObject({ status: 403, error: "insufficient_scope" });
    }
  });

  test("wrong secrets count towards the address's lockout: then 429 temporarily_unavailable with Retry-After", async () => {
    const locked = await keyward("10.0.0.9");
    const rs = await locked.issue({ user: "nas", role: "resource-server" });
    const [lockedBasic] = introspectors(locked.fetch).map(([, introspect]) => introspect);
    for (let i = 0; i < 10; i++) expect(await failure(lockedBasic!({ id: rs.id, token: `guess-${i}` }, "x"))).toMatchObject({ status: 401 });
    const error = await failure(lockedBasic!({ id: rs.id, token: "one-more-guess" }, "x"));
    expect(error).toBeInstanceOf(oauth.ResponseBodyError);
    expect(error).toMatchObject({ status: 429, error: "temporarily_unavailable" });
    expect(Number(error.response!.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});
