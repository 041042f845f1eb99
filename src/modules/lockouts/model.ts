import { t } from "elysia";

export const LockoutQuery = t.Object({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 500, default: 100, description: "Most locks listed, at most 500" })),
});

export const LockoutRecord = t.Object(
  {
    kind: t.UnionEnum(["address", "name"], { description: "address: a client address (an IPv6 host by its /64); name: a user name, in its canonical spelling" }),
    subject: t.String({ description: "The address or the name", examples: ["192.168.1.23"] }),
    until: t.String({ format: "date-time", description: "When it may try again" }),
  },
  { title: "Lockout" },
);

const ADDRESS = "ip:";
const NAME = "user:";

/** A lock as the API shows it: its key split into what was locked and its kind. */
export function presentLockout({ key, until }: { key: string; until: number }): typeof LockoutRecord.static {
  const address = key.startsWith(ADDRESS);
  return { kind: address ? "address" : "name", subject: key.slice(address ? ADDRESS.length : NAME.length), until: new Date(until).toISOString() };
}
