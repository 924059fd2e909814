/**
 * The DC's network limits, from `dc start --limits FILE` (JSON; docs/dc.md "Limits"):
 *
 *   { "kdc": { "tcp": { "maxConnections": 256, ... }, "maxUdpAmplification": 3 },
 *     "dns": { "tcp": { ... }, "maxUdpAmplification": 5 } }
 *
 * Every key is optional; a missing one keeps its default (DEFAULT_KDC_TCP_LIMITS in
 * src/kerberos/kdc/server.ts, DEFAULT_DNS_TCP_LIMITS in dns/server.ts). An unknown key or a
 * value that is not a positive integer is one line naming it.
 */
import * as fs from "node:fs";
import { TCP_LIMIT_KEYS, type TcpLimits } from "../platform/framed-tcp.js";
import { DirectoryError } from "./errors.js";

export interface ServiceLimits {
  tcp?: Partial<TcpLimits>;
  maxUdpAmplification?: number;
}

export interface DcLimits {
  kdc?: ServiceLimits;
  dns?: ServiceLimits;
}

const MAX_VALUE = 2 ** 31 - 1;

const bad = (file: string, what: string) => new DirectoryError("dc.limits", `${file}: ${what}`);

function objectAt(file: string, v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw bad(file, `${where} must be a JSON object`);
  return v as Record<string, unknown>;
}

function positive(file: string, v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_VALUE)
    throw bad(file, `${where} must be an integer from 1 to ${MAX_VALUE}, not ${JSON.stringify(v)}`);
  return v;
}

function serviceLimits(file: string, v: unknown, where: string): ServiceLimits {
  const o = objectAt(file, v, where);
  const out: ServiceLimits = {};
  for (const [k, x] of Object.entries(o)) {
    if (k === "maxUdpAmplification") out.maxUdpAmplification = positive(file, x, `${where}.${k}`);
    else if (k === "tcp") {
      const tcp: Partial<TcpLimits> = {};
      for (const [t, y] of Object.entries(objectAt(file, x, `${where}.tcp`))) {
        if (!(TCP_LIMIT_KEYS as readonly string[]).includes(t))
          throw bad(file, `unknown key ${where}.tcp.${t} (known: ${TCP_LIMIT_KEYS.join(", ")})`);
        tcp[t as keyof TcpLimits] = positive(file, y, `${where}.tcp.${t}`);
      }
      out.tcp = tcp;
    } else throw bad(file, `unknown key ${where}.${k} (known: tcp, maxUdpAmplification)`);
  }
  return out;
}

/** Parses the text of a limits file (`file` names it in errors). */
export function parseDcLimits(file: string, text: string): DcLimits {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(file, `not JSON: ${(e as Error).message}`);
  }
  const out: DcLimits = {};
  for (const [k, v] of Object.entries(objectAt(file, json, "the file"))) {
    if (k === "kdc" || k === "dns") out[k] = serviceLimits(file, v, k);
    else throw bad(file, `unknown key ${k} (known: kdc, dns)`);
  }
  return out;
}

export function readDcLimits(file: string): DcLimits {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw bad(file, `cannot read: ${(e as Error).message}`);
  }
  return parseDcLimits(file, text);
}
