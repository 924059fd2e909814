/**
 * Fuzz targets of the DC's network services, over a real directory (SQLite in a temporary
 * home):
 * - dns: DNS messages into answerMessage (what the UDP and TCP listeners call). The packet
 *   path's contract: never throw; an answer must itself decode, fit the UDP limit, and
 *   never be sent to a response.
 * - api: HTTP requests to the real API server on loopback: the JSON bodies of join, dns
 *   update, principal lookup and every admin operation (save `backup`, which writes a file
 *   where it is told), and Authorization headers for the Negotiate (SPNEGO/GSS/AP-REQ) and
 *   machine schemes. The contract: a 2xx/3xx/4xx answer in JSON, never a 500 ("internal
 *   error" is an exception the API did not expect).
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import dnsPacket from "dns-packet";
import type { Caller } from "../src/dc/api/auth.js";
import { createMachineAuthenticator } from "../src/dc/api/auth.js";
import { wrapGssToken } from "../src/dc/api/gss-krb5.js";
import { ensureDcCertificate } from "../src/dc/api/certificate.js";
import { createNegotiateAuthenticator } from "../src/dc/api/negotiate.js";
import { startApiServer } from "../src/dc/api/server.js";
import { addComputer } from "../src/dc/computers.js";
import type { Directory } from "../src/dc/directory.js";
import { initDirectory } from "../src/dc/directory.js";
import { answerMessage, newDnsStats } from "../src/dc/dns/answer.js";
import { createDirectoryZone } from "../src/dc/dns/source.js";
import { addGroup, addMember } from "../src/dc/groups.js";
import { dbPath } from "../src/dc/paths.js";
import { addRecord, updateOwnAddress } from "../src/dc/records.js";
import { randomBytes } from "../src/crypto/primitives.js";
import { mutateBytes, mutateText } from "./fuzz-mutate.js";
import { ContractViolation, type FuzzInstance } from "./fuzz-target.js";

/** A temporary home on tmpfs when there is one (the API target writes to SQLite a lot). */
export function fuzzHome(prefix: string): { dir: string; cleanup(): void } {
  const base = fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, `postern-fuzz-${prefix}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

function domain(home: string): Directory {
  fs.mkdirSync(path.join(home, "dc"), { recursive: true });
  const dir = initDirectory(dbPath(home), {
    dnsName: "bigfirm.com",
    adminPassword: "Adm1n-Passw0rd",
    dcName: "dc1",
    dcAddress: "198.18.0.10",
    actor: "fuzz",
  });
  addComputer(dir, "fuzz", "xpclient");
  addComputer(dir, "fuzz", "server1");
  updateOwnAddress(dir, "machine:XPCLIENT$", "XPCLIENT$", "198.18.0.30");
  addRecord(dir, "fuzz", "server1", "198.18.0.20");
  addRecord(dir, "fuzz", "server1", "2001:db8::20");
  addGroup(dir, "fuzz", "trusted", "global");
  addMember(dir, "fuzz", "trusted", "XPCLIENT$");
  return dir;
}

function dnsSeeds(): Uint8Array[] {
  const q = (name: string, type: string, extra: Partial<dnsPacket.Packet> = {}) =>
    new Uint8Array(
      dnsPacket.encode({
        type: "query",
        id: 0x1234,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ name, type: type as "A" }],
        ...extra,
      }),
    );
  const opt = {
    additionals: [{ type: "OPT" as const, name: ".", udpPayloadSize: 4096 }],
  } as Partial<dnsPacket.Packet>;
  return [
    q("bigfirm.com", "SOA"),
    q("bigfirm.com", "NS"),
    q("server1.bigfirm.com", "A"),
    q("server1.bigfirm.com", "AAAA", opt),
    q("server1.bigfirm.com", "ANY", opt),
    q("_kerberos._udp.bigfirm.com", "SRV"),
    q("_ldap._tcp.dc._msdcs.bigfirm.com", "SRV", opt),
    q("20.0.18.198.in-addr.arpa", "PTR"),
    q("0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "PTR"),
    q("nothere.bigfirm.com", "A"),
    q("example.org", "A"),
    q("bigfirm.com", "TXT", { opcode: "UPDATE" } as Partial<dnsPacket.Packet>),
  ];
}

export async function createDnsTarget(): Promise<FuzzInstance> {
  const home = fuzzHome("dns");
  const dir = domain(home.dir);
  const zone = createDirectoryZone(dir, { kdcPort: 88 });
  const stats = newDnsStats();
  const seeds = dnsSeeds();
  return {
    typedErrors: false,
    generate(r) {
      return mutateBytes(r.pick(seeds), r, seeds);
    },
    run(input) {
      const msg = Buffer.from(input as Uint8Array);
      const udp = msg.length % 2 === 0;
      const out = answerMessage(msg, zone, stats, udp);
      if (out === null) return "rejected";
      let reply: dnsPacket.DecodedPacket;
      try {
        reply = dnsPacket.decode(out);
      } catch (e) {
        throw new ContractViolation(`the answer does not decode: ${String(e)}`);
      }
      if (reply.type !== "response") throw new ContractViolation("the answer is not a response");
      if (udp && out.length > 1232)
        throw new ContractViolation(`UDP answer of ${out.length} bytes`);
      return "accepted";
    },
    close() {
      dir.close();
      home.cleanup();
    },
  };
}

// ---- the API ----

const FUZZ_SCHEME = "FuzzAs";

/** Grants the caller named in `Authorization: FuzzAs admin|machine|user` (the harness only). */
const fuzzAuthenticator = {
  scheme: FUZZ_SCHEME,
  authenticate(req: { authorization: string | undefined }): Caller | null {
    const a = req.authorization ?? "";
    if (a === `${FUZZ_SCHEME} admin`) return { kind: "admin", name: "Administrator" };
    if (a === `${FUZZ_SCHEME} machine`) return { kind: "machine", sam: "XPCLIENT$", rid: 1104 };
    if (a === `${FUZZ_SCHEME} user`) return { kind: "user", name: "alice" };
    return null;
  },
};

/** Admin operations the harness sends (never `backup`: it writes a file where it is told). */
const OPS_SENT = [
  "domain.show",
  "computer.add",
  "computer.delete",
  "computer.show",
  "computer.reset-key",
  "computer.enable",
  "computer.list",
  "group.add",
  "group.delete",
  "group.show",
  "group.members",
  "group.add-member",
  "group.remove-member",
  "effective-groups",
  "audit.list",
  "dns.add",
  "dns.delete",
  "dns.list",
  "gpo.create",
  "gpo.delete",
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
  "__proto__",
  "constructor",
  "toString",
];

interface ApiInput {
  method: string;
  path: string;
  auth: string;
  body: string;
}

const BODIES: Record<string, string[]> = {
  "/v1/join": ['{"name":"newhost","token":"abcdef0123456789","address":"198.18.0.50"}'],
  "/v1/dns/update": ['{"address":"198.18.0.30"}', '{"address":"2001:db8::30"}'],
  "/v1/principal": ['{"name":"trusted"}', '{"sid":"S-1-5-21-1-2-3-1105"}'],
  "/v1/admin/": [
    '{"name":"web1","description":"a web server","joinToken":true,"tokenTtlMs":60000}',
    '{"name":"trusted","scope":"global","description":"x"}',
    '{"group":"trusted","member":"SERVER1$"}',
    '{"name":"server1","address":"198.18.0.21"}',
    '{"name":"Default Domain Policy","target":"trusted"}',
    '{"name":"Default Domain Policy","settings":{"profiles":{"domain":{"enabled":true}}}}',
    '{"store":{"policies":[],"filterLists":[],"filterActions":[]},"revision":1,"assign":[{"gpo":"Default Domain Policy","policy":null}]}',
    '{"limit":5,"computer":"xpclient","enabled":false}',
  ],
};

function negotiateSeeds(): string[] {
  const apReqLike = Buffer.from(
    "6e2f302da003020105a10302010ea20703050000000000a3123010a003020101a109300704056b65726e",
    "hex",
  );
  const gss = wrapGssToken(0x0100, apReqLike);
  const spnego = Buffer.concat([
    Buffer.from("60", "hex"),
    Buffer.of(0x30),
    Buffer.from("06062b0601050502a02630", "hex"),
    Buffer.from(gss),
  ]);
  return [
    `Negotiate ${Buffer.from(gss).toString("base64")}`,
    `Negotiate ${spnego.toString("base64")}`,
    'PosternMachine name="XPCLIENT$", kvno="2", ts="2026-12-06T13:00:00.000Z", nonce="00112233", mac="abcd"',
    `${FUZZ_SCHEME} admin`,
  ];
}

function request(
  port: number,
  agent: https.Agent,
  x: ApiInput,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        agent,
        method: x.method,
        path: x.path,
        headers: { authorization: x.auth, "content-type": "application/json" },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(x.body);
  });
}

/** A header value node's http client accepts (no CR, LF or other control bytes). */
const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e]/g, "?");
const pathSafe = (s: string) => encodeURI(s).replace(/%25/g, "%");

export async function createApiTarget(): Promise<FuzzInstance> {
  const home = fuzzHome("api");
  const dir = domain(home.dir);
  let lastLog = "";
  // The API speaks TLS only: a certificate of its own (the client trusts it by its CA).
  const cert = ensureDcCertificate(home.dir, { hostName: "dc1.fuzz" }, new Date(), randomBytes);
  const unlimited = { burst: 1e12, perMinute: 1e12 };
  const server = await startApiServer(
    {
      dir,
      tls: { certPem: cert.certPem, keyPem: cert.keyPem },
      admin: { home: home.dir },
      // the parsers are fuzzed, not the rate limits (429 would hide them)
      limits: { failedAuth: unlimited, joins: unlimited },
      authenticators: [
        createNegotiateAuthenticator(dir, {
          now: () => Date.now(),
          certFingerprint: cert.fingerprint,
        }),
        createMachineAuthenticator(dir, () => new Date()),
        fuzzAuthenticator,
      ],
      log: (line) => {
        lastLog = line;
      },
      kdcPort: () => 88,
    },
    "127.0.0.1",
    0,
  );
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: 1,
    ca: cert.certPem,
    checkServerIdentity: () => undefined,
  });
  const auths = negotiateSeeds();
  const allBodies = Object.values(BODIES).flat();
  return {
    generate(r) {
      const route = r.pick([
        "/v1/join",
        "/v1/dns/update",
        "/v1/principal",
        "/v1/admin/",
        "/v1/admin/",
        "/v1/admin/",
        "/v1/policy",
        "/v1/leave",
      ]);
      const op = route === "/v1/admin/" ? r.pick(OPS_SENT) : "";
      const body = r.chance(0.9)
        ? mutateText(
            r.pick(BODIES[route] ?? allBodies),
            r,
            [
              '"',
              "{",
              "}",
              "[",
              "]",
              ":",
              ",",
              "null",
              "true",
              "1e999",
              '"__proto__"',
              '{"a":',
              "-0",
              "\\u0000",
            ],
            allBodies,
          )
        : r.pick(allBodies);
      let auth = route === "/v1/admin/" ? `${FUZZ_SCHEME} admin` : `${FUZZ_SCHEME} machine`;
      if (r.chance(0.2)) auth = r.chance(0.5) ? mutateText(r.pick(auths), r) : r.pick(auths);
      if (auth.startsWith("Negotiate ") && r.chance(0.7)) {
        const tok = Buffer.from(auth.slice(10), "base64");
        auth = `Negotiate ${Buffer.from(mutateBytes(tok, r)).toString("base64")}`;
      }
      const x: ApiInput = {
        method: route === "/v1/policy" ? "GET" : r.chance(0.02) ? "PUT" : "POST",
        path: route + op,
        auth: headerSafe(auth),
        body,
      };
      return JSON.stringify(x);
    },
    async run(input) {
      const x = JSON.parse(input as string) as ApiInput;
      let p = x.path;
      if (/backup/i.test(p)) p = "/v1/admin/domain.show";
      const res = await request(server.port(), agent, { ...x, path: pathSafe(p) });
      if (res.status >= 500)
        throw new ContractViolation(
          `HTTP ${res.status} on ${x.path}: ${lastLog || res.body.trim()}`,
        );
      if (res.body !== "") JSON.parse(res.body);
      return res.status < 300 ? "accepted" : "rejected";
    },
    async close() {
      agent.destroy();
      await server.close();
      dir.close();
      home.cleanup();
    },
  };
}
