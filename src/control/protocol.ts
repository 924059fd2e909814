/**
 * The agent's control protocol, shared by the agent (control.ts server) and its clients
 * (`postern agent stats`, `netsh ipsec dynamic show`, `klist --machine purge`, `gpupdate`,
 * the lab's checks). One request and one reply per connection, each one JSON line:
 *   request  {"v":1,"command":"stats"}
 *            {"v":1,"command":"delete-sas","args":{"kind":"qm","dst":"10.0.0.2"}}
 *   reply    {"v":1,"ok":true,"result":{...}}
 *            {"v":1,"ok":false,"error":{"code":"unknown-command","message":"..."}}
 * Both ends validate what they receive (version, command, shape) before using it, so a
 * malformed request gets a typed error reply of one line and a caller never casts.
 */
import type { DataPathStats } from "../datapath/engine.js";
import type { IkeSaInfo } from "../ike/engine.js";

export const CONTROL_VERSION = 1;

/** A request fits in this many bytes (a JSON line). */
export const MAX_REQUEST_BYTES = 1024;

/** The peers an ACQUIRE'd flow waits for or fell back from (acquire.ts `peers()`). */
export type AcquirePeers = Record<string, unknown>;

/** `stats`: the raw snapshot (the same JSON as SIGUSR1's stats.json). */
export interface StatsReply extends DataPathStats {
  time: string;
  /** Absent on an agent with manual keys (no IKE). */
  acquire?: Record<string, number>;
  peers?: AcquirePeers;
  ike?: { drops: Record<string, number>; sas: IkeSaInfo[] };
  /** Bypass decisions since start, by reason ("admitted" or the refusal's code). */
  bypass?: Record<string, number>;
  /** Policy loads since start (the first, gpupdate's and the refresh timer's), by result. */
  policy?: Record<string, number>;
}

/** One bypass decision of the agent (agent/bypass-peers.ts) for a live IKE SA. */
export interface BypassEntry {
  address: string;
  principal: string | null;
  /** The SID of the bypass list that admitted the peer, or null: not admitted. */
  authorizedBy: string | null;
  why: string;
  /** The decision's code (agent/bypass-peers.ts BYPASS_CODES): admitted, not-in-list, revoked... */
  code?: string;
  spis: string;
  since: string;
}

/* The monitoring views (`netsh ipsec dynamic show`), built by agent/monitor.ts. */

export interface MmSaView {
  spis: string;
  cookies: { initiator: string; responder: string };
  local: string;
  remote: string;
  remotePort: number;
  natT: boolean;
  state: string;
  initiator: boolean;
  peer: string;
  peerId: string | null;
  auth: string;
  identity: { method: string; principal: string; userSid?: string; groupSids?: string[] } | null;
  encryption: string | null;
  integrity: string | null;
  prf: string | null;
  dh: string | null;
  lifetimeSec: number;
  ageSec: number | null;
  childSas: number;
  /**
   * The responder told us, inside this SA, why it does not admit us (POSTERN_NOT_ADMITTED,
   * src/ike/refusal.ts); absent or null: nothing was said.
   */
  refusal?: { reason: string; group: string | null; at: string } | null;
}

export interface QmSaView {
  ikeSa: string;
  peer: string;
  local: string;
  remote: string;
  protocol: string;
  mode: string;
  udpEncap: boolean;
  spiIn: string;
  spiOut: string;
  transform: string;
  localSelectors: string[];
  remoteSelectors: string[];
  bytesIn: number;
  packetsIn: number;
  bytesOut: number;
  packetsOut: number;
  lifetimeSec: number;
  lifetimeKb: number;
  ageSec: number;
}

export interface FilterView {
  rule: string;
  filterlist: string;
  src: string;
  dst: string;
  protocol: number;
  srcPort: number;
  dstPort: number;
  mirrored: boolean;
  direction: string;
  action: string;
  filteraction: string;
  weight: number;
}

export interface MmFilterView {
  rule: string;
  src: string;
  dst: string;
  auth: string[];
  weight: number;
}

export interface StatsView {
  time: string;
  ike: { sas: Record<string, number>; drops: Record<string, number> };
  datapath: {
    info: Record<string, number>;
    drops: Record<string, Record<string, number>>;
  };
  acquire: Record<string, number>;
}

/** What each command answers. */
export interface ControlReplies {
  stats: StatsReply;
  bypass: { peers: BypassEntry[] };
  reload: { reloaded: boolean; policy: string | null; source?: "domain" | "local" };
  /** args: kind "mm" (IKE SAs, default) or "qm" (child SAs only); src, dst: addresses. */
  "delete-sas": { deletedIkeSas: string[]; deletedChildSas?: string[] };
  purge: { purged: boolean; deletedIkeSas: string[] };
  mmsas: MmSaView[];
  qmsas: QmSaView[];
  dstats: StatsView;
  mmfilter: MmFilterView[];
  qmfilter: FilterView[];
  /** `netsh ipsec dynamic set config`: the agent re-reads the file and answers what is in force. */
  config: IpsecConfigView;
}

/** The dynamic configuration the agent applies (policy/ipsec-config.ts holds the file). */
export interface IpsecConfigView {
  ikelogging: number;
  strongcrlcheck: number;
  ipsecloginterval: number;
  ipsecexempt: number;
  ipsecdiagnostics: number;
}

/** A command's named arguments: a few short strings (what the command does with them is its own). */
export type ControlArgs = Readonly<Record<string, string>>;
const MAX_ARGS = 8;

export type ControlCommand = keyof ControlReplies;

export const CONTROL_COMMANDS: readonly ControlCommand[] = [
  "stats",
  "bypass",
  "reload",
  "delete-sas",
  "purge",
  "mmsas",
  "qmsas",
  "dstats",
  "mmfilter",
  "qmfilter",
  "config",
];

export interface ControlRequest<C extends ControlCommand = ControlCommand> {
  v: typeof CONTROL_VERSION;
  command: C;
  args?: ControlArgs;
}

export type ControlErrorCode =
  | "malformed-request"
  | "unsupported-version"
  | "unknown-command"
  | "not-supported"
  | "failed";

export interface ControlErrorBody {
  code: ControlErrorCode;
  message: string;
}

export type ControlReply<C extends ControlCommand = ControlCommand> =
  | { v: typeof CONTROL_VERSION; ok: true; result: ControlReplies[C] }
  | { v: typeof CONTROL_VERSION; ok: false; error: ControlErrorBody };

/** A typed failure on either end; `code` goes into the error reply. */
export class ControlError extends Error {
  constructor(
    readonly code: ControlErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ControlError";
  }
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

const isCommand = (x: unknown): x is ControlCommand =>
  typeof x === "string" && (CONTROL_COMMANDS as readonly string[]).includes(x);

export function encodeRequest(command: ControlCommand, args?: ControlArgs): string {
  const r: ControlRequest = { v: CONTROL_VERSION, command, ...(args ? { args } : {}) };
  return `${JSON.stringify(r)}\n`;
}

/** The server's check of one received line: a request, or a ControlError to answer. */
export function decodeRequest(line: string): ControlRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    throw new ControlError(
      "malformed-request",
      `control request: not JSON (${line.length} bytes: ${JSON.stringify(line.slice(0, 40))})`,
    );
  }
  if (!isObject(doc))
    throw new ControlError("malformed-request", "control request: not a JSON object");
  if (doc.v !== CONTROL_VERSION)
    throw new ControlError(
      "unsupported-version",
      `control request: version ${JSON.stringify(doc.v)}, this agent speaks ${CONTROL_VERSION}`,
    );
  if (typeof doc.command !== "string")
    throw new ControlError("malformed-request", "control request: field command missing");
  if (!isCommand(doc.command))
    throw new ControlError(
      "unknown-command",
      `unknown command "${doc.command.slice(0, 40)}" (try: ${CONTROL_COMMANDS.join(", ")})`,
    );
  if (doc.args === undefined) return { v: CONTROL_VERSION, command: doc.command };
  return { v: CONTROL_VERSION, command: doc.command, args: decodeArgs(doc.args) };
}

function decodeArgs(a: unknown): ControlArgs {
  if (!isObject(a))
    throw new ControlError("malformed-request", "control request: args is not an object");
  const entries = Object.entries(a);
  if (entries.length > MAX_ARGS)
    throw new ControlError("malformed-request", `control request: more than ${MAX_ARGS} args`);
  for (const [k, v] of entries)
    if (typeof v !== "string")
      throw new ControlError(
        "malformed-request",
        `control request: args.${k.slice(0, 20)} is not a string`,
      );
  return Object.fromEntries(entries) as ControlArgs;
}

export function okReply<C extends ControlCommand>(result: ControlReplies[C]): string {
  return `${JSON.stringify({ v: CONTROL_VERSION, ok: true, result })}\n`;
}

export function errorReply(e: ControlErrorBody): string {
  const error: ControlErrorBody = { code: e.code, message: e.message.split("\n")[0] ?? "" };
  return `${JSON.stringify({ v: CONTROL_VERSION, ok: false, error })}\n`;
}

const ERROR_CODES: readonly ControlErrorCode[] = [
  "malformed-request",
  "unsupported-version",
  "unknown-command",
  "not-supported",
  "failed",
];

/** The top-level shape each command's result must have. */
const RESULT_SHAPE: Record<ControlCommand, (r: unknown) => boolean> = {
  stats: (r) => isObject(r) && typeof r.time === "string" && isObject(r.drops),
  bypass: (r) => isObject(r) && Array.isArray(r.peers),
  reload: (r) => isObject(r) && typeof r.reloaded === "boolean",
  "delete-sas": (r) => isObject(r) && Array.isArray(r.deletedIkeSas),
  purge: (r) => isObject(r) && typeof r.purged === "boolean" && Array.isArray(r.deletedIkeSas),
  mmsas: Array.isArray,
  qmsas: Array.isArray,
  dstats: (r) => isObject(r) && isObject(r.ike) && isObject(r.datapath),
  mmfilter: Array.isArray,
  qmfilter: Array.isArray,
  config: (r) => isObject(r) && typeof r.ikelogging === "number",
};

/** The client's check of a reply to `command`: its result, or a ControlError. */
export function decodeReply<C extends ControlCommand>(command: C, text: string): ControlReplies[C] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ControlError("failed", `the agent's reply to ${command} is not JSON`);
  }
  if (!isObject(doc) || doc.v !== CONTROL_VERSION)
    throw new ControlError(
      "unsupported-version",
      `the agent's reply to ${command} is not control protocol version ${CONTROL_VERSION} (an older or newer agent? restart it)`,
    );
  if (doc.ok === false) {
    const e = doc.error;
    if (isObject(e) && typeof e.message === "string") {
      const code = ERROR_CODES.find((c) => c === e.code) ?? "failed";
      throw new ControlError(code, e.message);
    }
    throw new ControlError("failed", `the agent refused ${command} without saying why`);
  }
  if (doc.ok !== true || !RESULT_SHAPE[command](doc.result))
    throw new ControlError("failed", `the agent's reply to ${command} has not the expected form`);
  return doc.result as ControlReplies[C];
}
