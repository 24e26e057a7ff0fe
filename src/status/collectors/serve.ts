/** `ferry serve`'s status: the ingress (its metrics) and the topic. */
import type { StatusCollector } from "../status.ts";
import { type IngressView, ingressStatus, ingressTotals } from "./ingress.ts";

export function serveCollector(view: { ingress: IngressView; maxInFlight: number; topic: string }): StatusCollector<"serve"> {
  return {
    mode: "serve",
    totals: () => ingressTotals(view.ingress),
    section: () => ({ ingress: ingressStatus(view.ingress, view.maxInFlight, () => undefined), topic: view.topic }),
  };
}
