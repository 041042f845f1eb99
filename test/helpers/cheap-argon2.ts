// Preloaded by bunfig.toml for bun test only. argon2id at its default cost (64 MiB, ~250 ms on a
// busy 2-core box) would make every in-process login the slowest thing in the suite. Hashes made
// here are still argon2id and verify the same way, at a small cost; the compiled binary, which
// the e2e tests drive, keeps the real one.
const hash = Bun.password.hash.bind(Bun.password);
const cheap = { algorithm: "argon2id", memoryCost: 1024, timeCost: 1 } as const;

Bun.password.hash = (password, algorithm) =>
  hash(password, algorithm === "argon2id" || (typeof algorithm === "object" && algorithm.algorithm === "argon2id") ? cheap : algorithm);
