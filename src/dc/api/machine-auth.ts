/**
 * The join credential: until Kerberos `Negotiate` (RFC 4559) arrives, a joined machine
 * proves itself to the API with an HMAC made from its account key (etype 18, the key the
 * join returned), over the request:
 *
 *   Authorization: PosternMachine name="XPCLIENT$", kvno="2", ts="<ISO time>",
 *                  nonce="<base64url>", mac="<base64>"
 *   K   = HMAC-SHA256(account key etype 18, "postern machine auth v1")
 *   mac = HMAC-SHA256(K, METHOD \n PATH \n ts \n nonce \n hex(SHA-256(body)))
 *
 * The server accepts a ts within 5 minutes of its clock (Kerberos' default skew) and each
 * nonce once within that window, so a captured request cannot be replayed or altered.
 */
import { equalConstantTime, hash, hmac, randomBytes } from "../../crypto/primitives.js";

export const MACHINE_SCHEME = "PosternMachine";
export const MAX_SKEW_MS = 5 * 60 * 1000;
const LABEL = Buffer.from("postern machine auth v1");

export interface MachineCredential {
  sam: string;
  kvno: number;
  /** The etype 18 key. */
  key: Uint8Array;
}

function macOf(
  key: Uint8Array,
  method: string,
  path: string,
  ts: string,
  nonce: string,
  body: Uint8Array,
): Buffer {
  const k = hmac("sha256", key, LABEL);
  const text = [method.toUpperCase(), path, ts, nonce, hash("sha256", body).toString("hex")].join(
    "\n",
  );
  return hmac("sha256", k, Buffer.from(text));
}

export function signRequest(
  cred: MachineCredential,
  method: string,
  path: string,
  body: Uint8Array,
  now: Date,
  random: (n: number) => Uint8Array = randomBytes,
): string {
  const ts = now.toISOString();
  const nonce = Buffer.from(random(12)).toString("base64url");
  const mac = macOf(cred.key, method, path, ts, nonce, body).toString("base64");
  return `${MACHINE_SCHEME} name="${cred.sam}", kvno="${cred.kvno}", ts="${ts}", nonce="${nonce}", mac="${mac}"`;
}

export interface ParsedMachineAuth {
  sam: string;
  kvno: number;
  ts: string;
  nonce: string;
  mac: string;
}

export function parseMachineAuth(header: string): ParsedMachineAuth | null {
  if (!header.startsWith(`${MACHINE_SCHEME} `)) return null;
  const fields = new Map<string, string>();
  for (const m of header.slice(MACHINE_SCHEME.length + 1).matchAll(/(\w+)="([^"]*)"/g))
    fields.set(m[1] as string, m[2] as string);
  const sam = fields.get("name");
  const kvno = Number(fields.get("kvno"));
  const ts = fields.get("ts");
  const nonce = fields.get("nonce");
  const mac = fields.get("mac");
  if (!sam || !Number.isInteger(kvno) || !ts || !nonce || !mac) return null;
  return { sam, kvno, ts, nonce, mac };
}

/** Verifies one request; `seen` is the replay cache (nonce -> expiry ms), pruned here. */
export function verifyMachineAuth(
  p: ParsedMachineAuth,
  key: Uint8Array,
  method: string,
  path: string,
  body: Uint8Array,
  now: Date,
  seen: Map<string, number>,
): string | null {
  const t = Date.parse(p.ts);
  if (!Number.isFinite(t) || Math.abs(now.getTime() - t) > MAX_SKEW_MS)
    return "timestamp outside the allowed clock skew";
  for (const [n, exp] of seen) if (exp < now.getTime()) seen.delete(n);
  const expected = macOf(key, method, path, p.ts, p.nonce, body);
  if (!equalConstantTime(expected, Buffer.from(p.mac, "base64"))) return "bad request signature";
  const nonceKey = `${p.sam}:${p.nonce}`;
  if (seen.has(nonceKey)) return "replayed request";
  seen.set(nonceKey, now.getTime() + 2 * MAX_SKEW_MS);
  return null;
}
