import { describe, expect, test } from "bun:test";
import type { FailureDetail, Reason, ReasonOf } from "../../../src/modules/auth/model";
import type { DeviceCheck } from "../../../src/modules/devices/service";
import { Metrics } from "../../../src/modules/metrics/registry";
import type { VerifyFailure } from "../../../src/modules/tokens/verifier";

describe("failure reasons", () => {
  test("the authentication metric labels a failure by its reason and a success by its credential", () => {
    const metrics = new Metrics();
    metrics.authentication("failure", "expired");
    metrics.authentication("failure", "expired");
    metrics.authentication("success", "device");
    const lines = metrics.render([]).split("\n").filter((line) => line.startsWith("keyward_authentications_total{"));
    expect(lines.toSorted()).toEqual(['keyward_authentications_total{outcome="failure",reason="expired"} 2', 'keyward_authentications_total{outcome="success",reason="device"} 1']);
  });
});

/**
 * Never run: `tsc --noEmit` (the first step of `npm test`) fails if any line marked below compiles,
 * that is if free text could become a reason, a metric label or a failure's audit detail.
 */
function reasonsAreClosed(metrics: Metrics, verifier: VerifyFailure, device: Extract<DeviceCheck, { ok: false }>["reason"]): Reason[] {
  // @ts-expect-error a failure's label is a Reason
  metrics.authentication("failure", "token looked odd");
  // @ts-expect-error a success's label is a credential's source
  metrics.authentication("success", "expired");
  // @ts-expect-error an audit detail is a credential and a reason
  const detail: FailureDetail = "token looked odd";
  // @ts-expect-error a part's reasons are named from the one list
  const typo: ReasonOf<"unknwn"> = "unknwn";
  // The verifier's and the device checks' reasons are Reasons as they stand.
  return [verifier, device];
}
