import { Elysia } from "elysia";
import type { Store } from "../../db/client";
import { type Answering, decidedAtOnce, DPOP_ALGS, INVALID_TOKEN, presentedToken, refuse, type authentication } from "../../http/auth";
import type { AddressOf } from "../../http/client-address";
import type { ProofRequests } from "../../http/dpop";
import { errorBody, ErrorBody, withFailures } from "../../http/errors";
import { IdParams } from "../../http/path-params";
import { answerPage, pageOf } from "../../http/pagination";
import { SecuredJson, Serialized } from "../../http/secured-json";
import { lockoutBucket } from "../../lib/cidr";
import { DomainError } from "../../lib/errors";
import { FailureLimiter } from "../../lib/failure-limiter";
import { DEVICE_ROLE } from "../../lib/names";
import type { DeviceCredential, Refusal } from "../auth/model";
import type { ProofRequest } from "../auth/dpop";
import type { AuthCore } from "../auth/service";
import type { Actor } from "../tokens/service";
import { approveDevice, enroll, resetDevice, type EnrollmentGrant, type EnrollmentPolicy, type EnrollmentRefusal } from "./enrollment";
import { DeviceQuery, DeviceRecord, EnrollBody, IssuedDeviceTokens, LabelBody, PendingDevice, presentDevice, Verified, VerifyQuery } from "./model";
import { checkFingerprint, labelDevice, listDevices, revokeDevice, type DeviceSightings } from "./service";
import type { DeviceSigner } from "./signing";

export interface DeviceRouteDeps {
  store: Store;
  auth: ReturnType<typeof authentication>;
  core: AuthCore;
  addressOf: AddressOf;
  proofs: ProofRequests;
  signer: DeviceSigner;
  sightings: DeviceSightings;
  policy: EnrollmentPolicy;
  /** KEYWARD_DEVICE_REQUIRE_KEY. */
  requireKey: boolean;
  /** Enrollment requests per client address per minute. */
  enrollRate: number;
  lifetimeMs: number;
  allowQueryToken: boolean;
}

type Granted = { ok: true; grant: EnrollmentGrant; actor: Actor } | Refusal;

const DPOP_CHALLENGE = { "www-authenticate": `DPoP realm="keyward", ${DPOP_ALGS}` };

const refusals: Record<EnrollmentRefusal, { status: 401 | 403; body: ErrorBody; headers?: Record<string, string> }> = {
  already_enrolled: {
    status: 403,
    body: errorBody("device_already_enrolled", "This device already holds tokens: enroll again with its current main token as Bearer, or ask an admin to reset it"),
  },
  secret_required: {
    status: 401,
    body: errorBody("enrollment_secret_required", "This device is approved: send the enrollment_secret it was given when it first enrolled"),
  },
  invalid_secret: { status: 401, body: errorBody("invalid_enrollment_secret", "The enrollment secret is wrong or already used") },
  stale_credential: { status: 401, body: INVALID_TOKEN },
  key_required: {
    status: 401,
    body: errorBody("device_key_required", "This server binds every device to a key: enroll with a DPoP header, a proof signed by the device's key (RFC 9449)"),
    headers: DPOP_CHALLENGE,
  },
  unproven_binding: {
    status: 401,
    body: errorBody(
      "device_binding_needs_token",
      "This device holds tokens and no key: bind one by enrolling with its current main token (as Bearer) beside the DPoP proof, or ask an admin to reset the device",
    ),
    headers: DPOP_CHALLENGE,
  },
  key_mismatch: {
    status: 401,
    body: errorBody("device_key_mismatch", "This device is bound to a key: enroll with a DPoP proof signed by that key, or ask an admin to reset the device"),
    headers: DPOP_CHALLENGE,
  },
};

/**
 * Verify's two answers for a device token that passed (the fingerprint alone to the short token
 * alone, as a device client verifies; more to a check with the fingerprint), made once for each
 * check the device-token cache returns, which it returns again, the same object, until the
 * database changes: writing them on every request cost the check a tenth of its work.
 */
const verifiedAnswers = new WeakMap<DeviceCredential, readonly [Serialized<typeof Verified.static>, Serialized<typeof Verified.static>]>();
function verifiedAnswer(check: DeviceCredential, fingerprintSent: boolean): SecuredJson<typeof Verified.static> {
  let made = verifiedAnswers.get(check);
  if (made === undefined) {
    const { device, token } = check;
    const alone = new Serialized<typeof Verified.static>({ valid: true, hardware_fingerprint: device.fingerprint });
    const full = new Serialized<typeof Verified.static>({ valid: true, hardware_fingerprint: device.fingerprint, device_id: device.id, expires_at: token.expiresAt.toISOString() });
    verifiedAnswers.set(check, (made = [alone, full]));
  }
  return new SecuredJson(made[fingerprintSent ? 1 : 0]);
}

/** The device-token flow's two endpoints (enroll a fingerprint, verify a short token) and device administration. */
export const deviceRoutes = (deps: DeviceRouteDeps) => {
  const { store, auth, core, addressOf, proofs, signer, sightings } = deps;
  const enrollments = new FailureLimiter(deps.enrollRate, 60_000);

  /**
   * Verify's short token and fingerprint, checked by the route's own handler rather than a macro
   * (see `anyToken` in http/auth.ts): a short token seen before is answered with no promise on the way.
   */
  const checkShortToken = <S>({ query, request, set, status }: Answering<S> & { request: Request; query: typeof VerifyQuery.static }, fingerprint: string | null) => {
    const shortToken = query.short_token ?? request.headers.get("x-short-token") ?? presentedToken(request, false);
    return decidedAtOnce({ request, set, status }, () => core.shortToken(shortToken, fingerprint, () => addressOf(request), () => proofs.self(request)));
  };

  /**
   * What entitles this request to enroll. Past the open policy a fingerprint is not a secret: a
   * presented token is decided by the authentication core (the device's own main token renews it).
   * Under open a token is read only beside a DPoP proof: a device binding its first key proves it
   * is the device with its main token (see enroll); without a proof nothing changes from before keys.
   */
  async function grantFor(request: Request, fingerprint: string, secret: string | null, ip: string, proof: ProofRequest): Promise<Granted> {
    const anonymous = { name: "anonymous", ip };
    const token = presentedToken(request, deps.allowQueryToken);
    if (deps.policy === "open" && (token === null || proof.proof === null)) return { ok: true, grant: { kind: "open" }, actor: anonymous };
    if (token === null && deps.policy === "approval") return { ok: true, grant: { kind: "secret", secret }, actor: anonymous };
    const decision = await core.token({ token, address: () => ip, need: "token", fingerprint: () => fingerprint, dpop: () => proof });
    if (!decision.ok) return decision;
    const { principal } = decision;
    const actor = { name: principal.user, ip };
    if (principal.role === DEVICE_ROLE) return { ok: true, grant: { kind: "device", tokenId: principal.tokenId }, actor };
    // Under approval a user's token adds nothing: the admin's approval is what lets a device in; under open, nothing is needed.
    if (deps.policy === "approval") return { ok: true, grant: { kind: "secret", secret }, actor };
    if (deps.policy === "open") return { ok: true, grant: { kind: "open" }, actor };
    // A device's tokens carry no limits: each use (or rate-limit slot) would buy an unlimited credential.
    if ("limits" in decision && decision.limits !== undefined) throw new DomainError("forbidden", "limited_token", "A token with a rate limit or a quota cannot enroll devices: their tokens would not carry its limits");
    return { ok: true, grant: { kind: "user" }, actor };
  }

  return new Elysia({ name: "keyward/devices", detail: { tags: ["Devices"] } })
    .use(auth)
    .post(
      "/api/v1/tokens/main",
      async ({ body, request, set, status }) => {
        const ip = addressOf(request);
        const rate = enrollments.take(lockoutBucket(ip));
        if (rate.locked) {
          const seconds = Math.max(1, Math.ceil(rate.retryAfterMs / 1000));
          set.headers["retry-after"] = String(seconds);
          return status(429, errorBody("too_many_enrollments", `Too many enrollment requests from this address; try again in ${seconds} seconds`));
        }
        const fingerprint = checkFingerprint(body.hardware_fingerprint);
        const proof = proofs.self(request);
        const granted = await grantFor(request, fingerprint, body.enrollment_secret ?? null, ip, proof);
        if (!granted.ok) return refuse({ set, status }, granted);
        // A device renewing with its key-bound token proved the key already: the same proof, checked once.
        const key = await core.enrollmentKey(proof, body.public_jwk, ip);
        if (!key.ok) return refuse({ set, status }, key);
        const { grant, actor } = granted;
        const decision = await core.enrollment(
          ip,
          grant.kind === "secret" && grant.secret !== null,
          () => enroll(store, signer, { fingerprint, grant, lifetimeMs: deps.lifetimeMs, key: key.thumbprint, requireKey: deps.requireKey }, actor),
          (result) => (result.status === "refused" ? { why: result.reason, deviceId: result.device?.id } : null),
        );
        if (!decision.ok) return refuse({ set, status }, decision);
        const { result } = decision;
        if (result.status === "refused") {
          const refusal = refusals[result.reason];
          Object.assign(set.headers, refusal.headers);
          return status(refusal.status, refusal.body);
        }
        if (result.status === "pending") {
          const { enrollmentSecret } = result;
          return status(202, {
            status: "pending" as const,
            device_id: result.device.id,
            ...(enrollmentSecret === null ? {} : { enrollment_secret: enrollmentSecret }),
            message:
              enrollmentSecret === null
                ? "Waiting for an admin to approve this device; then enroll again with its enrollment_secret to collect its tokens"
                : "Waiting for an admin to approve this device. Keep enrollment_secret: it is shown only now, and collects the tokens once the device is approved",
          });
        }
        const bound = result.device.keyThumbprint === null ? {} : { key_thumbprint: result.device.keyThumbprint };
        return status(201, { main_token: result.mainToken, short_token: result.shortToken, expires_at: result.expiresAt.toISOString(), device_id: result.device.id, ...bound });
      },
      {
        body: EnrollBody,
        response: withFailures({ 201: IssuedDeviceTokens, 202: PendingDevice }, "credential", "body"),
        detail: {
          summary: "Enroll a device by its hardware fingerprint",
          // A token is needed only under KEYWARD_DEVICE_ENROLLMENT=token, or to renew under approval.
          security: [{}, { bearer: [] }],
          description:
            "JSON or form. KEYWARD_DEVICE_ENROLLMENT=open (the default): anyone may enroll, and enrolling again issues a new main token and retires the earlier ones; the fingerprint is an identifier, not a secret. " +
            "=token: a user or admin token as Bearer enrolls a device that holds no live token. " +
            "=approval: the first request answers 202 with a one-time enrollment_secret; once an admin approves the device, the fingerprint with that enrollment_secret collects the tokens (201). " +
            "Under token and approval, a device that holds tokens gets new ones only with its current main token as Bearer (403 device_already_enrolled otherwise; its tokens keep working), or after an admin resets it. " +
            "429 too_many_enrollments past KEYWARD_DEVICE_ENROLL_RATE requests per minute from one address. " +
            "A DPoP header (RFC 9449: a dpop+jwt proof with htm POST and htu this URL, signed by the device's P-256 or Ed25519 key, its public key in the jwk header; public_jwk in the body, if sent, must be that key) binds the device's tokens to the key: the main token carries cnf.jkt and the answer key_thumbprint. " +
            "A key-bound device re-enrolls only with a proof by that key, under every policy (401 device_key_mismatch otherwise; its tokens stay); an admin reset unbinds it. KEYWARD_DEVICE_REQUIRE_KEY=true: no enrollment without a proof (401 device_key_required). " +
            "401 dpop_required / invalid_dpop_proof: public_jwk without a proof, or a proof that is wrong (method, URL, more than a minute old, used before, another key).",
        },
      },
    )
    .get(
      "/api/v1/tokens/verify",
      ({ query, request, set, status }) => {
        const fingerprint = query.hardware_fingerprint || request.headers.get("x-hardware-fingerprint") || null;
        const checked = checkShortToken({ query, request, set, status }, fingerprint);
        return checked.ok ? verifiedAnswer(checked, fingerprint !== null) : checked.answer;
      },
      {
        query: VerifyQuery,
        response: withFailures({ 200: Verified }, "credential", "input"),
        detail: {
          summary: "Verify a device's short token, and its fingerprint when sent",
          security: [],
          description:
            "The short token as ?short_token=, X-Short-Token or Bearer; the fingerprint, optional, as ?hardware_fingerprint= or X-Hardware-Fingerprint. " +
            "With the short token alone, as a device client verifies, the answer is the device's hardware_fingerprint and nothing more; with a fingerprint it must match (403 fingerprint_mismatch), and the answer adds device_id and expires_at. " +
            "401 token_expired, 401 invalid_token (unknown, revoked, garbled); every refusal counts toward the address's lockout (429). " +
            "A key-bound device's short token verifies only with a DPoP header: a proof by its key with htm GET and htu this URL (no query; ath optional, checked when sent), at most a minute old, used once (401 dpop_required without, 401 invalid_dpop_proof when wrong).",
        },
      },
    )
    .get("/api/v1/devices", async ({ query, set }) => {
      await sightings.flush();
      return answerPage(set, await listDevices(store.db, query), presentDevice);
    }, {
      auth: "admin",
      query: DeviceQuery,
      response: withFailures({ 200: pageOf(DeviceRecord) }, "credential", "input"),
      detail: { summary: "List devices", description: "Newest first, `limit` at a time; the X-Next-Cursor header leads to the next page. Filter by status." },
    })
    .post("/api/v1/devices/:id/approve", async ({ params, actor }) => {
      const approved = await approveDevice(store, params.id, actor());
      return presentDevice(approved);
    }, {
      auth: "admin",
      params: IdParams,
      response: withFailures({ 200: DeviceRecord, 404: ErrorBody, 409: ErrorBody }, "credential", "input"),
      detail: {
        summary: "Approve a pending device",
        description: "It collects its tokens by enrolling again with its enrollment_secret. 409 enrollment_not_requested when it holds no secret yet (it was reset and has not enrolled since).",
      },
    })
    .post("/api/v1/devices/:id/reset", async ({ params, actor }) => {
      const reset = await resetDevice(store, params.id, deps.policy, actor());
      return presentDevice(reset);
    }, {
      auth: "admin",
      params: IdParams,
      response: withFailures({ 200: DeviceRecord, 404: ErrorBody, 409: ErrorBody }, "credential", "input"),
      detail: {
        summary: "Reset a device so it can enroll again",
        description:
          "For a device that lost its token or let it expire. Its tokens stop verifying at once, and it is treated as new under the current policy: under approval it is pending again, its next enrollment gets a new enrollment_secret, and an admin approves it again.",
      },
    })
    .post("/api/v1/devices/:id/revoke", async ({ params, actor }) => {
      const revoked = await revokeDevice(store, params.id, actor());
      return presentDevice(revoked);
    }, {
      auth: "admin",
      params: IdParams,
      response: withFailures({ 200: DeviceRecord, 404: ErrorBody }, "credential", "input"),
      detail: { summary: "Revoke a device", description: "All its tokens stop verifying at once, and it cannot enroll again." },
    })
    .patch("/api/v1/devices/:id", async ({ params, body, actor }) => presentDevice(await labelDevice(store, params.id, body.label, actor())), {
      auth: "admin",
      params: IdParams,
      body: LabelBody,
      response: withFailures({ 200: DeviceRecord, 404: ErrorBody }, "credential", "body", "input"),
      detail: { summary: "Label a device" },
    });
};
