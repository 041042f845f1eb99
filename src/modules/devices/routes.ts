import { Elysia } from "elysia";
import type { Db } from "../../db/client";
import { presentedToken, refuse, type authentication } from "../../http/auth";
import type { AddressOf } from "../../http/client-address";
import { errorBody, ErrorBody } from "../../http/errors";
import { answerPage, pageOf } from "../../http/pagination";
import type { AuthCore } from "../auth/service";
import { DeviceQuery, DeviceRecord, EnrollBody, IssuedDeviceTokens, LabelBody, PendingDevice, presentDevice, Verified, VerifyQuery } from "./model";
import { approveDevice, enroll, labelDevice, listDevices, revokeDevice, type DeviceSightings, type EnrollmentPolicy } from "./service";
import type { DeviceSigner } from "./signing";

export interface DeviceRouteDeps {
  db: Db;
  auth: ReturnType<typeof authentication>;
  core: AuthCore;
  addressOf: AddressOf;
  signer: DeviceSigner;
  sightings: DeviceSightings;
  policy: EnrollmentPolicy;
  lifetimeMs: number;
  allowQueryToken: boolean;
}

/** Seed 003's two endpoints (enroll a fingerprint, verify a short token) and device administration. */
export const deviceRoutes = (deps: DeviceRouteDeps) => {
  const { db, auth, core, addressOf, signer, sightings } = deps;
  return new Elysia({ name: "keyward/devices", detail: { tags: ["Devices"] } })
    .use(auth)
    .post(
      "/api/v1/tokens/main",
      async ({ body, request, server, set, status }) => {
        const ip = addressOf(request, server);
        let actor = { name: "anonymous", ip };
        if (deps.policy === "token") {
          const decision = await core.token({ token: presentedToken(request, deps.allowQueryToken), ip, need: "person" });
          if (!decision.ok) return refuse({ set, status }, decision);
          actor = { name: decision.principal.user, ip };
        }
        const result = await enroll(db, signer, { fingerprint: body.hardware_fingerprint, policy: deps.policy, lifetimeMs: deps.lifetimeMs }, actor);
        if (result.status === "pending") {
          return status(202, {
            status: "pending" as const,
            device_id: result.device.id,
            message: "Waiting for an admin to approve this device; enroll again to collect its tokens",
          });
        }
        return status(201, { main_token: result.mainToken, short_token: result.shortToken, expires_at: result.expiresAt.toISOString(), device_id: result.device.id });
      },
      {
        body: EnrollBody,
        response: { 201: IssuedDeviceTokens, 202: PendingDevice, 401: ErrorBody, 403: ErrorBody, 422: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Enroll a device by its hardware fingerprint (seed 003)",
          description:
            "JSON or form. Under KEYWARD_DEVICE_ENROLLMENT=open anyone may enroll; =token needs a user or admin token; =approval answers 202 until an admin approves, after which the same request collects the tokens. Enrolling again issues a new main token and retires the earlier ones.",
        },
      },
    )
    .get(
      "/api/v1/tokens/verify",
      async ({ query, request, server, set, status }) => {
        const ip = addressOf(request, server);
        const shortToken = query.short_token ?? request.headers.get("x-short-token") ?? presentedToken(request, false);
        const fingerprint = query.hardware_fingerprint ?? request.headers.get("x-hardware-fingerprint");
        if (!fingerprint) return status(400, errorBody("missing_fingerprint", "Send the device's hardware_fingerprint (query) or X-Hardware-Fingerprint"));
        const check = await core.shortToken(shortToken, fingerprint, ip);
        if (!check.ok) return refuse({ set, status }, check);
        return { valid: true as const, hardware_fingerprint: check.device.fingerprint, device_id: check.device.id, expires_at: check.token.expiresAt.toISOString() };
      },
      {
        query: VerifyQuery,
        response: { 200: Verified, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 422: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Verify a device's short token and fingerprint (seed 003)",
          description:
            "The short token as ?short_token=, X-Short-Token or Bearer; the fingerprint as ?hardware_fingerprint= or X-Hardware-Fingerprint. 401 token_expired, 401 invalid_token (unknown, revoked, garbled), 403 fingerprint_mismatch.",
        },
      },
    )
    .get("/api/v1/devices", ({ query, set }) => {
      sightings.flush();
      return answerPage(set, listDevices(db, query), presentDevice);
    }, {
      auth: "admin",
      query: DeviceQuery,
      response: { 200: pageOf(DeviceRecord), 401: ErrorBody, 403: ErrorBody, 422: ErrorBody },
      detail: { summary: "List devices", description: "Newest first, `limit` at a time; the X-Next-Cursor header leads to the next page. Filter by status." },
    })
    .post("/api/v1/devices/:id/approve", ({ params, principal, ip }) => {
      const approved = approveDevice(db, params.id, { name: principal.user, ip });
      return presentDevice(approved);
    }, {
      auth: "admin",
      response: { 200: DeviceRecord, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      detail: { summary: "Approve a pending device", description: "It collects its tokens by enrolling again." },
    })
    .post("/api/v1/devices/:id/revoke", ({ params, principal, ip }) => {
      const revoked = revokeDevice(db, params.id, { name: principal.user, ip });
      return presentDevice(revoked);
    }, {
      auth: "admin",
      response: { 200: DeviceRecord, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      detail: { summary: "Revoke a device", description: "All its tokens stop verifying at once, and it cannot enroll again." },
    })
    .patch("/api/v1/devices/:id", ({ params, body, principal, ip }) => presentDevice(labelDevice(db, params.id, body.label, { name: principal.user, ip })), {
      auth: "admin",
      body: LabelBody,
      response: { 200: DeviceRecord, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 422: ErrorBody },
      detail: { summary: "Label a device" },
    });
};
