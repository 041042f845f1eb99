import { Elysia } from "elysia";
import { requestEnvelope } from "./http/envelope";
import { requestObserver } from "./http/request-observer";
import { anyToken, authentication, ownApiCredentials } from "./http/auth";
import { addressResolver } from "./http/client-address";
import type { PeerSource } from "./http/client-ip";
import { docs } from "./http/docs";
import { proofRequests } from "./http/dpop";
import { errorHandling } from "./http/errors";
import { adminRoutes } from "./modules/admin-ui/routes";
import { auditRoutes } from "./modules/audit/routes";
import { deviceRoutes } from "./modules/devices/routes";
import { echoRoutes } from "./modules/echo/routes";
import { forwardAuthRoutes } from "./modules/forward-auth/routes";
import { health } from "./modules/health/routes";
import { homeRoutes } from "./modules/home/routes";
import { introspectionRoutes } from "./modules/introspection/routes";
import { loginRoutes } from "./modules/login/routes";
import { metricsRoutes } from "./modules/metrics/routes";
import { portalRoutes } from "./modules/portal/routes";
import type { Portal } from "./modules/portal/service";
import { lockoutRoutes } from "./modules/lockouts/routes";
import { principalRoutes } from "./modules/principal/routes";
import { sessionRoutes } from "./modules/sessions/routes";
import { tokenRoutes } from "./modules/tokens/routes";
import { usageRoutes } from "./modules/usage/routes";
import { userRoutes } from "./modules/users/routes";
import type { Services } from "./services";

/**
 * The whole HTTP surface, without listening: the binary and the tests build it the same way.
 * Client addresses come from the server the app listens on, or from `peers` (a test's socket).
 */
export function createApp({ store, config, log, usage, series, audit, core, lockout, rates, sessions, signer, sightings, metrics, handlers, now }: Services, peers?: () => PeerSource | null) {
  const { allowQueryToken } = config;
  // Without a public URL there is no portal: its routes are 404s and forward auth is as before.
  const portal: Portal | null = config.publicUrl === null ? null : { publicUrl: config.publicUrl, cookieDomain: config.cookieDomain, maxMs: config.sessionMax };
  const addressOf = addressResolver(config.trustedProxies, peers ?? (() => app.server));
  const proofs = proofRequests({ publicUrl: config.publicUrl, trustedProxies: config.trustedProxies, peers: peers ?? (() => app.server) });
  const credentials = ownApiCredentials({ core, addressOf, proofs, allowQueryToken, portal });
  const auth = authentication(credentials);
  // Elysia finds where the path starts in the request's URL by searching for "/" from index 11, past
  // "https://" and at least three characters of host: with a shorter host (a LAN box called
  // `nas`, a proxy passing Host `x`) it would route on part of the path, /public/auth/forward as
  // /auth/forward. Searching from index 7 is right for any http:// URL; over TLS the URLs start
  // with https://, where index 11 is right for any host of three characters or more.
  const app = new Elysia({ handler: { standardHostname: config.tlsCert !== null } })
    // Every request, start to answer: counted for the stop, body bounded, security headers, metrics
    // and access log. Before the error handler, whose answer ends the chain: the observer's hooks only note the context.
    .use(requestEnvelope(requestObserver(log, metrics), handlers))
    .use(errorHandling(log))
    .use(docs())
    .use(homeRoutes)
    .use(adminRoutes({ portal, core, addressOf }))
    .use(health(store))
    .use(loginRoutes({ store, core, addressOf, lifetimeMs: config.loginTtl }))
    .use(echoRoutes({ core, addressOf, allowQueryToken }))
    .use(forwardAuthRoutes({ core, addressOf, proofs, allowQueryToken, log, portal }))
    .use(portal === null ? new Elysia({ name: "keyward/portal" }) : portalRoutes({ store, portal, core, sessions, addressOf, now }))
    .use(principalRoutes(anyToken(credentials)))
    .use(
      deviceRoutes({
        store,
        auth,
        core,
        addressOf,
        proofs,
        signer,
        sightings,
        policy: config.deviceEnrollment,
        requireKey: config.deviceRequireKey,
        enrollRate: config.deviceEnrollRate,
        lifetimeMs: config.deviceTokenDays * 86_400_000,
        allowQueryToken,
      }),
    )
    .use(tokenRoutes({ store, auth, usage, rates, defaultLifetimeMs: config.tokenTtl, now }))
    .use(userRoutes({ store, auth }))
    .use(sessionRoutes({ store, auth, sessions, now }))
    .use(auditRoutes({ db: store.db, auth, queue: audit }))
    .use(usageRoutes({ db: store.db, auth, series, now }))
    .use(lockoutRoutes({ auth, lockout }))
    .use(introspectionRoutes({ core, addressOf, allowQueryToken, role: config.introspectRole, db: store.db, now }))
    .use(metricsRoutes({ db: store.db, core, addressOf, allowQueryToken, metrics, isPublic: config.metricsPublic, role: config.metricsRole }));
  return app;
}

export type App = ReturnType<typeof createApp>;
