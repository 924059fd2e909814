/**
 * The admin protocol, one set of types for both ends (the CLI's client and the DC), checked
 * on receipt and versioned (`v`). Two carriers:
 *   - the local admin socket: one JSON line each way,
 *       request  {"v":1, "op":"group.add-member", "params":{...}, "actor":"root"}
 *       reply    {"v":1, "ok":true, "result":...} | {"v":1, "ok":false, "code", "message", "exitCode"}
 *     (a request without `v` is taken as version 1, the format before versioning);
 *   - the network API: POST /v1/admin/<op> with the params as the JSON body, answered
 *       {"v":1, "result":...}   or, refused, {"error":"...", "code":"..."} with 4xx.
 * A peer speaking a version this postern does not know gets one line saying so.
 */
export const PROTOCOL_VERSION = 1;
export const ADMIN_PREFIX = "/v1/admin/";

export type Params = Record<string, unknown>;

/** Every admin operation of this protocol version: the DC implements exactly these (ops.ts). */
export const ADMIN_OPS = [
  "domain.show",
  "admin.set-password",
  "computer.add",
  "computer.delete",
  "computer.list",
  "computer.show",
  "computer.reset-key",
  "computer.set-enctypes",
  "computer.enable",
  "account.delegation",
  "group.add",
  "group.delete",
  "group.list",
  "group.show",
  "group.members",
  "group.add-member",
  "group.remove-member",
  "effective-groups",
  "audit.list",
  "dns.list",
  "dns.add",
  "dns.delete",
  "gpo.create",
  "gpo.delete",
  "gpo.list",
  "gpo.show",
  "gpo.link",
  "gpo.unlink",
  "gpo.get-ipsec",
  "gpo.set-ipsec",
  "gpo.set-firewall",
  "ipsec.get",
  "ipsec.set",
  "ipsec.assignments",
  "gpo.effective",
  "gpo.get-expect",
  "gpo.set-expect",
  "expect.snapshot",
  "expect.preview",
  "expect.commit",
  "dump",
  "backup",
] as const;

export type OpName = (typeof ADMIN_OPS)[number];

export interface AdminRequest {
  v: typeof PROTOCOL_VERSION;
  op: string;
  params: Params;
  actor: string;
}

export type AdminReply =
  | { v: typeof PROTOCOL_VERSION; ok: true; result: unknown }
  | { v: typeof PROTOCOL_VERSION; ok: false; code: string; message: string; exitCode: number };

export interface AdminApiReply {
  v: typeof PROTOCOL_VERSION;
  result: unknown;
}

/** An operation's name: dotted lower-case words (`group.add-member`), at most 64 characters. */
export const OP_NAME = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function versionOf(v: Record<string, unknown>): string | null {
  if (v.v === undefined || v.v === PROTOCOL_VERSION) return null;
  return `admin protocol version ${JSON.stringify(v.v)} is not spoken here (this postern speaks ${PROTOCOL_VERSION})`;
}

/** The request a line carries, or why it is not one. */
export function parseAdminRequest(line: string): AdminRequest | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return "admin request: not JSON";
  }
  if (!isObject(v)) return "admin request: not a JSON object";
  const bad = versionOf(v);
  if (bad) return bad;
  if (typeof v.op !== "string" || v.op.length > 64 || !OP_NAME.test(v.op))
    return "admin request: 'op' must name an operation (e.g. group.add-member)";
  if (typeof v.actor !== "string" || v.actor.length > 256)
    return "admin request: 'actor' must be a string";
  const params = v.params ?? {};
  if (!isObject(params)) return "admin request: 'params' must be a JSON object";
  return { v: PROTOCOL_VERSION, op: v.op, params, actor: v.actor };
}

/** The reply a line carries, or why it is not one. */
export function parseAdminReply(line: string): AdminReply | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return "admin reply: not JSON";
  }
  if (!isObject(v)) return "admin reply: not a JSON object";
  const bad = versionOf(v);
  if (bad) return bad;
  if (v.ok === true) return { v: PROTOCOL_VERSION, ok: true, result: v.result ?? null };
  if (
    v.ok === false &&
    typeof v.code === "string" &&
    typeof v.message === "string" &&
    typeof v.exitCode === "number"
  )
    return {
      v: PROTOCOL_VERSION,
      ok: false,
      code: v.code,
      message: v.message,
      exitCode: v.exitCode,
    };
  return "admin reply: neither {ok:true, result} nor {ok:false, code, message, exitCode}";
}

/** The result of a network API admin answer's body, or why it is not one. */
export function parseAdminApiReply(body: unknown): AdminApiReply | string {
  if (!isObject(body)) return "admin answer: not a JSON object";
  const bad = versionOf(body);
  if (bad) return bad;
  if (!("result" in body)) return "admin answer: no 'result'";
  return { v: PROTOCOL_VERSION, result: body.result };
}
