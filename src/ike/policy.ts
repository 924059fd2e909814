/**
 * A PeerConfig from the IPsec policy model (src/policy/model.ts): what the agent calls for
 * a rule whose filter action is "negotiate". Main-mode methods and lifetime come from the
 * policy, quick-mode methods and PFS from the filter action, tunnel or transport from the
 * rule, and authentication from the rule's ordered methods: the first one this host can
 * serve (IKEv2 authenticates an SA with one method) is the initiator's; a responder also
 * accepts the later usable ones (`authAlternatives`), matched by AUTH method. Preshared keys are built here;
 * certificates (rootca) and Kerberos come from providers the caller passes.
 */
import { assertNever } from "../errors.js";
import type { AuthMethod, FilterAction, Policy, Rule } from "../policy/model.js";
import { type AuthMethodProvider, createPskAuth } from "./auth.js";
import { IkeError } from "./errors.js";
import type { TrafficSelector } from "./payloads/ts.js";
import type { PeerConfig } from "./types.js";

export interface PeerFromPolicyInput {
  name: string;
  policy: Policy;
  /** The rule's fields IKE needs (the default response rule supplies these too). */
  rule: Pick<Rule, "id" | "name" | "tunnel" | "auth">;
  action: Pick<FilterAction, "name" | "action" | "qmSecMethods" | "qmPfs">;
  localAddress: string;
  remoteAddress: string;
  localId?: string;
  remoteId?: string | null;
  localTs: TrafficSelector[];
  remoteTs: TrafficSelector[];
  providers?: {
    rootca?: (m: Extract<AuthMethod, { kind: "rootca" }>) => AuthMethodProvider | null;
    kerberos?: () => AuthMethodProvider | null;
  };
}

function authFor(m: AuthMethod, input: PeerFromPolicyInput): AuthMethodProvider | null {
  switch (m.kind) {
    case "psk":
      return createPskAuth(m.key);
    case "rootca":
      return input.providers?.rootca?.(m) ?? null;
    case "kerberos":
      return input.providers?.kerberos?.() ?? null;
    default:
      return assertNever(m, "authentication method");
  }
}

export function peerFromPolicy(input: PeerFromPolicyInput): PeerConfig {
  const { policy, rule, action } = input;
  if (action.action !== "negotiate") {
    throw new IkeError(
      "config",
      `rule ${rule.id} (${rule.name}): filter action "${action.name}" is ${action.action}, not negotiate; no IKE needed`,
    );
  }
  const usable = rule.auth
    .map((m) => authFor(m, input))
    .filter((p): p is AuthMethodProvider => p !== null);
  const [auth, ...authAlternatives] = usable;
  if (!auth) {
    const kinds = rule.auth.map((m) => m.kind).join(", ") || "none";
    throw new IkeError(
      "config",
      `rule ${rule.id} (${rule.name}): no usable authentication method among [${kinds}] (certificates and Kerberos need their credentials loaded)`,
    );
  }
  return {
    name: input.name,
    localAddress: input.localAddress,
    remoteAddress: input.remoteAddress,
    localId: input.localId ?? input.localAddress,
    remoteId:
      input.remoteId === undefined
        ? input.remoteAddress === "%any"
          ? null
          : input.remoteAddress
        : input.remoteId,
    auth,
    authAlternatives,
    mm: policy.mmSecMethods,
    qm: action.qmSecMethods,
    pfs: action.qmPfs,
    localTs: input.localTs,
    remoteTs: input.remoteTs,
    mode: rule.tunnel === null ? "transport" : "tunnel",
    forceEncap: false,
    ikeLifetimeSec: policy.mmLifetimeMin * 60,
  };
}
