/**
 * Policy tests' pure core: each row of an expected access matrix, for each computer it
 * names, against the directory and policies of a DC snapshot (src/dc/expect.ts), with
 * `postern explain`'s own trace (explain/trace.ts) on the server's side:
 *
 *   1. who -> clients: a computer, a group's computers (nesting expanded), or an address
 *   2. the client's effective IPsec policy for the flow client -> server (its outbound
 *      decision: block, clear, or negotiate and with which methods)
 *   3. the IKE SA they would negotiate: both sides willing, a method in common, and for
 *      Kerberos both accounts enabled (a disabled account gets no ticket); the SA's
 *      identity is the client's principal and its PAC's SIDs (its effective groups)
 *   4. the server's bypass decision for that SA (firewall/authorize.ts, as the agent's)
 *   5. buildTrace on the server, as `postern explain` there would print it once the SA is
 *      up: policy, sa, groups, bypass, guard, firewall; its verdict, deciding step and flip.
 *
 * What it cannot see: hosts' local stores (a GPO's policy overrides them on members; a
 * host without one is evaluated as having none), addresses other than the zone's records,
 * the servers' real subnets (SUBNET scope is taken as the server's /24 or /64), and
 * tickets issued before a group change (the matrix is what a fresh ticket gives).
 */
import type { BypassEntry, MmSaView } from "../control/protocol.js";
import { bypassAuthorization } from "../firewall/authorize.js";
import type { FirewallSettings } from "../firewall/model.js";
import { validateSettings } from "../firewall/validate.js";
import type { ExpectSnapshot, SnapshotComputer } from "../dc/expect.js";
import { type Expectation, type Must, serviceText } from "../dc/expect-matrix.js";
import { PROTOCOLS, type Flow } from "../explain/flow.js";
import { policyStepOf, type PolicyStep } from "../explain/policy-step.js";
import { buildTrace, type Trace, type TraceInput } from "../explain/trace.js";
import { parseIp } from "../policy/ip.js";
import { emptyStore } from "../policy/model.js";

export const RESULT_SCHEMA = "postern.policy-test/1" as const;

/** Layers a cell can be decided by: explain's steps, and the client's side before them. */
export type Layer = Trace["decidedBy"] | "directory" | "client-policy" | "ike";

export interface Cell {
  gpo: string;
  /** 1-based row of the GPO's matrix. */
  row: number;
  who: string;
  /** The computer (`NAME$`) or address this cell is about. */
  client: string;
  server: string;
  service: string;
  expected: Must;
  got: Must | "unknown";
  /** The layer that decides, and in one sentence why. */
  layer: Layer;
  why: string;
  /** The one change that would flip the verdict, when explain (or the client side) knows it. */
  flip: string | null;
}

export interface TestResult {
  schema: typeof RESULT_SCHEMA;
  gpo: string | null;
  revision: number;
  cells: number;
  differing: Cell[];
}

const SIMULATED_SA = "(predicted)";

function findComputer(s: ExpectSnapshot, name: string): SnapshotComputer | undefined {
  const sam = (name.endsWith("$") ? name : `${name}$`).toUpperCase();
  return s.computers.find((c) => c.sam.toUpperCase() === sam);
}

type Client = { computer: SnapshotComputer } | { address: string };

/** A row's who: an address, a computer written NAME$, a group, else a computer NAME. */
function clientsOf(s: ExpectSnapshot, who: string): Client[] | string {
  if (parseIp(who)) return [{ address: who }];
  if (!who.endsWith("$")) {
    const g = s.groups.find((x) => x.name.toUpperCase() === who.toUpperCase());
    if (g) {
      if (g.computers.length === 0) return `group ${g.name} holds no computer`;
      return g.computers.flatMap((sam) => {
        const c = findComputer(s, sam);
        return c ? [{ computer: c }] : [];
      });
    }
  }
  const c = findComputer(s, who);
  return c ? [{ computer: c }] : `no computer, group or address named ${who}`;
}

const clientName = (c: Client) => ("computer" in c ? c.computer.sam : c.address);

function addressFor(c: SnapshotComputer, family: 4 | 6 | null): string | null {
  return c.addresses.find((a) => family === null || parseIp(a)?.family === family) ?? null;
}

function firewallOf(c: SnapshotComputer): FirewallSettings | null | string {
  if (c.firewall === null) return null;
  try {
    return validateSettings(c.firewall, `${c.sam}'s firewall settings (GPO ${c.firewallFrom})`);
  } catch (e) {
    return (e as Error).message;
  }
}

function localSubnet(address: string): string {
  return `${address}/${parseIp(address)?.family === 6 ? 64 : 24}`;
}

/** Every cell of every row of `matrix` (a GPO's), evaluated against the snapshot. */
export function evaluateMatrix(
  s: ExpectSnapshot,
  gpo: string,
  matrix: readonly Expectation[],
): Cell[] {
  const names = new Map<string, string>();
  for (const g of s.groups) names.set(g.sid, g.name);
  for (const c of s.computers) names.set(c.sid, c.sam);
  const resolve = (name: string) =>
    s.records.filter((r) => r.name.toLowerCase() === name.toLowerCase()).map((r) => r.value);
  const cells: Cell[] = [];
  for (const [i, row] of matrix.entries()) {
    const base = {
      gpo,
      row: i + 1,
      who: row.who,
      server: row.server,
      service: serviceText(row),
      expected: row.must,
    };
    const unknown = (client: string, why: string): Cell => ({
      ...base,
      client,
      got: "unknown",
      layer: "directory",
      why,
      flip: null,
    });
    const clients = clientsOf(s, row.who);
    const server = findComputer(s, row.server);
    if (typeof clients === "string") {
      cells.push(unknown(row.who, clients));
      continue;
    }
    for (const client of clients) {
      if (server === undefined) {
        cells.push(unknown(clientName(client), `no computer named ${row.server}`));
        continue;
      }
      cells.push({ ...base, ...evaluateCell(s, row, client, server, { names, resolve }) });
    }
  }
  return cells;
}

type Verdict = Pick<Cell, "client" | "got" | "layer" | "why" | "flip">;

function evaluateCell(
  s: ExpectSnapshot,
  row: Expectation,
  client: Client,
  server: SnapshotComputer,
  ctx: { names: ReadonlyMap<string, string>; resolve: (n: string) => string[] },
): Verdict {
  const name = clientName(client);
  const cAddr = "computer" in client ? addressFor(client.computer, null) : client.address;
  const unknown = (why: string): Verdict => ({
    client: name,
    got: "unknown",
    layer: "directory",
    why,
    flip: null,
  });
  if (cAddr === null) return unknown(`${name} has no address in the zone`);
  const family = parseIp(cAddr)?.family ?? 4;
  const sAddr = addressFor(server, family);
  if (sAddr === null) return unknown(`${server.sam} has no IPv${family} address in the zone`);
  const flow: Flow = {
    src: cAddr,
    dst: sAddr,
    protocol: PROTOCOLS[row.protocol] ?? 0,
    srcPort: 0,
    dstPort: row.port,
  };
  const firewall = firewallOf(server);
  if (typeof firewall === "string") return unknown(firewall);
  const step = (c: SnapshotComputer, me: string): PolicyStep | null =>
    c.ipsec === null
      ? null
      : policyStepOf(c.ipsec, null, { source: "domain", gpo: c.ipsecFrom, me: [me] }, flow, {
          resolve: ctx.resolve,
        });
  const serverStep =
    step(server, sAddr) ??
    policyStepOf(emptyStore(), null, { source: "domain", gpo: null, me: [sAddr] }, flow, {
      resolve: ctx.resolve,
    });
  const clientStep = "computer" in client ? step(client.computer, cAddr) : null;
  const out = clientSide(s, client, server, clientStep, serverStep, firewall, cAddr, sAddr);
  if ("got" in out) return { client: name, ...out };
  const input: TraceInput = {
    flow,
    peerMode: row.protocol === "any",
    me: [sAddr],
    policy: serverStep,
    agent: { running: true, sas: out.sa ? [out.sa] : [], bypass: out.entry ? [out.entry] : [] },
    firewall,
    localSubnets: [localSubnet(sAddr)],
    names: ctx.names,
    domain: s.domain.netbios,
    domainDns: s.domain.dnsName,
    peerName: "computer" in client ? client.computer.sam.slice(0, -1).toLowerCase() : null,
    self: server.sam,
  };
  const trace = buildTrace(input);
  const decisive = [...trace.steps].reverse().find((x) => x.step === trace.decidedBy);
  return {
    client: name,
    got: trace.verdict === "allowed" ? "reach" : "not-reach",
    layer: trace.decidedBy,
    // the firewall's source names the exception or default that decided; the others'
    // detail says what happened
    why: decisive
      ? `${decisive.verdict}: ${decisive.step === "firewall" ? decisive.source : decisive.detail || decisive.source}`
      : "",
    flip: trace.flip?.change ?? null,
  };
}

type SaSide = { sa: MmSaView | null; entry: BypassEntry | null };
type Decided = Pick<Verdict, "got" | "layer" | "why" | "flip">;

/** The methods of `auth` (explain's names) the other side also offers, in `auth`'s order. */
const common = (auth: readonly string[], other: readonly string[]) =>
  auth.filter((a) => other.includes(a));

/**
 * Steps 2-4: what the client sends and the SA it would negotiate, decided before the
 * server's trace: the client's policy blocks it, IKE cannot succeed, or the SA (with the
 * server's bypass decision for it) that the trace then reads as the agent's.
 */
function clientSide(
  s: ExpectSnapshot,
  client: Client,
  server: SnapshotComputer,
  cStep: PolicyStep | null,
  sStep: PolicyStep,
  firewall: FirewallSettings | null,
  cAddr: string,
  sAddr: string,
): Decided | SaSide {
  const cAction = cStep?.explanation.action ?? "none";
  const who = clientName(client);
  if (cAction === "block" && cStep)
    return {
      got: "not-reach",
      layer: "client-policy",
      why: `${who}'s rule "${cStep.explanation.rule}" (GPO ${cStep.gpo}) blocks it`,
      flip: `change filter action "${cStep.explanation.filteraction}" of ${who}'s policy to permit or negotiate`,
    };
  if (cAction !== "negotiate" || cStep === null || !("computer" in client))
    return { sa: null, entry: null };
  // the client asks for an SA; the server answers with the rule that governs the flow, or
  // with its default response rule
  const sAction = sStep.explanation.action;
  const offered =
    sAction === "negotiate"
      ? sStep.auth
      : sAction !== "block" && sStep.defaultResponse?.active
        ? sStep.defaultResponse.auth
        : [];
  const methods = common(cStep.auth, offered);
  const soft = cStep.filterAction?.soft ?? false;
  const failed = (why: string, flip: string | null): Decided | SaSide =>
    soft
      ? { sa: null, entry: null } // soft: it falls back to cleartext
      : { got: "not-reach", layer: "ike", why, flip };
  if (methods.length === 0)
    return failed(
      offered.length === 0
        ? `${who} asks for an SA (rule "${cStep.explanation.rule}") but ${server.sam} does not negotiate this flow`
        : `no authentication method in common: ${who} offers ${cStep.auth.join(", ")}, ${server.sam} ${offered.join(", ")}`,
      `give ${server.sam}'s policy a negotiate rule for this flow with ${cStep.auth[0] ?? "kerberos"}`,
    );
  const method = methods[0] as string;
  const c = client.computer;
  if (method === "kerberos" && !c.enabled)
    return failed(
      `${c.sam} is disabled: the KDC gives it no ticket, so Kerberos IKE fails`,
      `enable ${c.sam}`,
    );
  if (method === "kerberos" && !server.enabled)
    return failed(
      `${server.sam} is disabled: no service ticket for host/${server.dnsHostName}`,
      `enable ${server.sam}`,
    );
  const principal = `${c.sam}@${s.domain.realm}`;
  const kerberos = method === "kerberos";
  const sa: MmSaView = {
    spis: SIMULATED_SA,
    cookies: { initiator: "", responder: "" },
    local: sAddr,
    remote: cAddr,
    remotePort: 500,
    natT: false,
    state: "established",
    initiator: false,
    peer: cAddr,
    peerId: principal,
    auth: method,
    identity: {
      method,
      principal,
      ...(kerberos ? { userSid: c.sid, groupSids: c.groups.map((g) => g.sid) } : {}),
    },
    encryption: null,
    integrity: null,
    prf: null,
    dh: null,
    lifetimeSec: 0,
    ageSec: null,
    childSas: 1,
  };
  return { sa, entry: bypassEntry(firewall, sa, cAddr) };
}

/** The server agent's decision for the SA (agent/bypass-peers.ts decideBypass's rules). */
function bypassEntry(
  settings: FirewallSettings | null,
  sa: MmSaView,
  address: string,
): BypassEntry | null {
  const id = sa.identity;
  if (settings === null || settings.bypass.length === 0 || id === null) return null;
  const entry = (authorizedBy: string | null, why: string): BypassEntry => ({
    address,
    principal: id.principal,
    authorizedBy,
    why,
    spis: sa.spis,
    since: "",
  });
  if (id.method !== "kerberos" || id.userSid === undefined)
    return entry(null, `authenticated by ${sa.auth}, not Kerberos: no group SIDs to check`);
  const sids = [id.userSid, ...(id.groupSids ?? [])];
  const sid = bypassAuthorization(settings, sids);
  if (sid === null)
    return entry(
      null,
      `${id.principal} (${sids.length} SIDs in its PAC) holds no SID of the bypass list`,
    );
  const e = settings.bypass.find((b) => b.sid.toUpperCase() === sid.toUpperCase());
  return entry(sid, `${id.principal} is in ${e?.name ?? sid} (from its ticket's PAC)`);
}

export const differs = (c: Cell) => c.got !== c.expected;

/** `postern policy test [GPO]`: every matrix (or GPO's), only the cells that differ. */
export function testSnapshot(s: ExpectSnapshot, gpo: string | null): TestResult {
  const matrices =
    gpo === null ? s.matrices : s.matrices.filter((m) => m.gpo.toLowerCase() === gpo.toLowerCase());
  const cells = matrices.flatMap((m) => evaluateMatrix(s, m.gpo, m.rows));
  return {
    schema: RESULT_SCHEMA,
    gpo,
    revision: s.revision,
    cells: cells.length,
    differing: cells.filter(differs),
  };
}

const cellKey = (c: Cell) => `${c.gpo}\u0000${c.row}\u0000${c.client}`;

/**
 * The cells a change breaks: differing after it, not before (a cell already broken is not
 * the change's doing, and does not refuse it).
 */
export function newlyBroken(before: ExpectSnapshot, after: ExpectSnapshot): Cell[] {
  const was = new Set(testSnapshot(before, null).differing.map(cellKey));
  return testSnapshot(after, null).differing.filter((c) => !was.has(cellKey(c)));
}

/** One line per cell: who, what, expected, got, the deciding layer and why, the flip. */
export function cellLine(c: Cell): string {
  const flip = c.flip ? `; to flip: ${c.flip}` : "";
  return `${c.client} -> ${c.server} ${c.service}: expected ${c.expected}, got ${c.got} (${c.layer}: ${c.why})${flip} [GPO ${c.gpo} row ${c.row}]`;
}
