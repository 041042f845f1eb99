import { t } from "elysia";
import { Nullable } from "../../http/schema";
import { pageQuery } from "../../http/pagination";
import { deviceStatuses } from "../../db/schema";
import type { DeviceRow } from "./service";

const fingerprintField = t.String({ minLength: 1, maxLength: 512, description: "The device's hardware fingerprint", examples: ["cpu:BFEBFBFF000906EA;disk:S4EVNX0N123456"] });

const keyMember = t.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" });

/**
 * The device's public key, as WebCrypto and jose export it. A private member (`d`) is refused, not
 * stripped: whoever sent it has leaked the key and should make another.
 */
const PublicJwk = t.Object(
  {
    kty: t.UnionEnum(["EC", "OKP"]),
    crv: t.UnionEnum(["P-256", "Ed25519"]),
    x: keyMember,
    y: t.Optional(keyMember),
    alg: t.Optional(t.UnionEnum(["ES256", "EdDSA", "Ed25519"])),
    use: t.Optional(t.Literal("sig")),
    kid: t.Optional(t.String({ maxLength: 128 })),
    key_ops: t.Optional(t.Array(t.String({ maxLength: 16 }), { maxItems: 4 })),
    ext: t.Optional(t.Boolean()),
    d: t.Optional(t.Never({ description: "The private key: never sent. A request with it is refused, and that key is to be thrown away." })),
  },
  {
    additionalProperties: false,
    title: "PublicJwk",
    description:
      "Optional: the device's public key (EC P-256, or Ed25519), which the request's DPoP header (a proof signed by that key) must prove; without it, a DPoP header alone binds its key. The device's tokens are then bound to the key: the main token carries cnf.jkt and is used as Authorization: DPoP with a proof, and the short token verifies only with one.",
  },
);

export const EnrollBody = t.Object(
  {
    hardware_fingerprint: fingerprintField,
    enrollment_secret: t.Optional(
      t.String({ maxLength: 128, description: "Under approval enrollment: the secret from the first 202 answer, to collect the tokens once an admin has approved the device" }),
    ),
    public_jwk: t.Optional(PublicJwk),
  },
  { title: "Enroll" },
);

export const IssuedDeviceTokens = t.Object(
  {
    main_token: t.String({ description: "A JWT (HS256 by default) with hardware_fingerprint, sub, jti, iat and exp" }),
    short_token: t.String({ minLength: 32, maxLength: 32, description: "32 characters derived from the main token with a keyed hash", examples: ["Qm9vdHN0cmFwX3Rva2VuX2V4YW1wbGVf"] }),
    expires_at: t.String({ format: "date-time" }),
    device_id: t.String({ examples: ["dev_7Hc2Lq9ZpX4mWn1R"] }),
    key_thumbprint: t.Optional(t.String({ description: "Only for a device bound to a key: its RFC 7638 thumbprint, the main token's cnf.jkt" })),
  },
  { title: "DeviceTokens" },
);

export const PendingDevice = t.Object(
  {
    status: t.Literal("pending"),
    device_id: t.String(),
    enrollment_secret: t.Optional(
      t.String({ description: "Only in the answer that created it, never again: once an admin approves the device, send it with the fingerprint to collect the tokens" }),
    ),
    message: t.String({ examples: ["Waiting for an admin to approve this device; then enroll again with its enrollment_secret to collect its tokens"] }),
  },
  { title: "PendingDevice" },
);

export const VerifyQuery = t.Object({
  short_token: t.Optional(t.String({ maxLength: 64, description: "Or the X-Short-Token header, or a Bearer header" })),
  hardware_fingerprint: t.Optional(t.String({ maxLength: 512, description: "Or the X-Hardware-Fingerprint header" })),
});

// Without a fingerprint the short token alone is the proof, and it learns what the device-token flow answers: the fingerprint.
export const Verified = t.Object(
  {
    valid: t.Literal(true),
    hardware_fingerprint: t.String(),
    device_id: t.Optional(t.String({ description: "Only when the request sent the fingerprint" })),
    expires_at: t.Optional(t.String({ format: "date-time", description: "Only when the request sent the fingerprint" })),
  },
  { title: "VerifiedDevice" },
);

export const DeviceRecord = t.Object(
  {
    id: t.String({ examples: ["dev_7Hc2Lq9ZpX4mWn1R"] }),
    fingerprint: t.String(),
    label: Nullable(t.String({ examples: ["front-desk kiosk"] })),
    status: t.UnionEnum(deviceStatuses),
    key_thumbprint: Nullable(t.String({ description: "The RFC 7638 thumbprint of the key the device's tokens are bound to (DPoP); null when not key-bound. A reset unbinds it." })),
    first_seen: t.String({ format: "date-time" }),
    last_seen: t.String({ format: "date-time" }),
  },
  { title: "Device" },
);
export type DeviceRecord = typeof DeviceRecord.static;

export const DeviceQuery = t.Object({
  ...pageQuery,
  // t.UnionEnum defaults to its first value, which in a query would quietly list only active devices.
  status: t.Optional(t.UnionEnum(deviceStatuses, { default: undefined, description: "Only devices in this state" })),
});
export const LabelBody = t.Object({ label: Nullable(t.String({ maxLength: 100, examples: ["front-desk kiosk"] })) }, { title: "DeviceLabel" });

export function presentDevice(row: DeviceRow): DeviceRecord {
  return {
    id: row.id,
    fingerprint: row.fingerprint,
    label: row.label,
    status: row.status,
    key_thumbprint: row.keyThumbprint,
    first_seen: row.firstSeen.toISOString(),
    last_seen: row.lastSeen.toISOString(),
  };
}
