import { describe, expect, test } from "bun:test";
import { PerCredential } from "../../src/http/per-credential";
import { SecuredJson, securedJsonHeaders, Serialized } from "../../src/http/secured-json";
import { SECURITY_HEADERS } from "../../src/http/security-headers";
import type { Principal } from "../../src/modules/tokens/verifier";

const principal = (tokenId: string, user = "alice", role = "user"): Principal => ({ tokenId, user, role, source: "api", issuedAt: new Date(0), expiresAt: null, scopes: [] });

describe("answers made once per credential", () => {
  test("the same credential gets what was made for it; another basis (a changed user or role) gets a new one", () => {
    let made = 0;
    const answers = new PerCredential(
      ({ user, role }) => `${role} ${user}`,
      ({ user, role }) => ({ made: ++made, user, role }),
    );
    const first = answers.for(principal("tok_1"));
    expect(answers.for(principal("tok_1"))).toBe(first);
    expect(answers.for(principal("tok_2"))).toMatchObject({ made: 2 });
    expect(answers.for(principal("tok_1", "alice", "admin"))).toMatchObject({ made: 3, role: "admin" });
    expect(answers.for(principal("tok_1", "bob", "admin"))).toMatchObject({ made: 4, user: "bob" });
    expect(answers.for(principal("tok_1", "bob", "admin"))).toMatchObject({ made: 4 });
  });

  test("it holds so many credentials at most: past that the oldest is made again when next seen", () => {
    let made = 0;
    const answers = new PerCredential(({ user }) => user, () => ++made, 3);
    for (const id of ["tok_1", "tok_2", "tok_3", "tok_4"]) answers.for(principal(id));
    expect(made).toBe(4);
    expect(answers.for(principal("tok_4"))).toBe(4);
    expect(answers.for(principal("tok_2"))).toBe(2);
    expect(answers.for(principal("tok_1"))).toBe(5);
  });
});

describe("a SecuredJson", () => {
  test("answers as Response.json would, with the security headers, from a body or one written once", async () => {
    const reference = Response.json({ user: "alice" });
    for (const answer of [new SecuredJson({ user: "alice" }), new SecuredJson(new Serialized({ user: "alice" }))]) {
      expect(await answer.text()).toBe(await reference.clone().text());
      expect(answer.headers.get("content-type")).toBe(reference.headers.get("content-type"));
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(answer.headers.get(name)).toBe(value);
    }
  });

  test("its headers are its own: changing one answer's leaves the kept headers as they were", () => {
    const kept = securedJsonHeaders([["remote-user", "alice"]]);
    const answer = new SecuredJson(new Serialized({ user: "alice" }), kept);
    answer.headers.set("remote-user", "mallory");
    answer.headers.set("cache-control", "no-store");
    const next = new SecuredJson(new Serialized({ user: "alice" }), kept);
    expect(next.headers.get("remote-user")).toBe("alice");
    expect(next.headers.has("cache-control")).toBe(false);
  });
});
