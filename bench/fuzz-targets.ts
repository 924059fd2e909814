/**
 * The fuzz targets by name: one per parser that takes network or file input.
 */
import { createApiTarget, createDnsTarget } from "./fuzz-targets-dc.js";
import { createAhTarget, createEspTarget, createTunTarget } from "./fuzz-targets-esp.js";
import { createApReqTarget, createKdcTarget } from "./fuzz-targets-exchange.js";
import { createIpsecDataTarget, createRegistryPolTarget } from "./fuzz-targets-gp.js";
import { createIkeTarget } from "./fuzz-targets-ike.js";
import {
  createCcacheTarget,
  createDerTarget,
  createKeytabTarget,
  createPacTarget,
} from "./fuzz-targets-krb.js";
import {
  createFirewallFileTarget,
  createKrb5ConfTarget,
  createNetshTarget,
  createPolicyFileTarget,
  createSddlTarget,
} from "./fuzz-targets-text.js";
import type { TargetFactory } from "./fuzz-target.js";

export const TARGETS: Readonly<Record<string, TargetFactory>> = {
  ike: createIkeTarget,
  esp: createEspTarget,
  ah: createAhTarget,
  tun: createTunTarget,
  der: createDerTarget,
  kdc: createKdcTarget,
  "ap-req": createApReqTarget,
  pac: createPacTarget,
  dns: createDnsTarget,
  sddl: createSddlTarget,
  netsh: createNetshTarget,
  "policy-file": createPolicyFileTarget,
  "firewall-file": createFirewallFileTarget,
  "krb5-conf": createKrb5ConfTarget,
  keytab: createKeytabTarget,
  ccache: createCcacheTarget,
  api: createApiTarget,
  "ipsec-data": createIpsecDataTarget,
  "registry-pol": createRegistryPolTarget,
};

export const TARGET_NAMES = Object.keys(TARGETS);
