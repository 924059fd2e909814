/**
 * Issue 20 item 5: postern's KDC against what an Active Directory DC does, per behaviour.
 * A real postern DC (directory in SQLite, our KDC through `kdcStarter`) listens on port 88
 * of a loopback address of its own (impacket's tools only speak to port 88); each request
 * is built by this test, each reply is read by an INDEPENDENT decoder, impacket 0.10's
 * pyasn1 structures and crypto (impacket-decoder.ts), not postern's codec; and impacket's
 * own tools `getTGT.py`, `getST.py` and `GetNPUsers.py` run against the DC.
 *
 * What AD does comes from [MS-KILE], [MS-PAC], RFC 4120 and Samba's KDC tests that run
 * against Windows (python/samba/tests/krb5/kdc_tgs_tests.py): each `it` names its source.
 * U2U, S4U2Self/S4U2Proxy and FAST are helper kdcex's (their own suite).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { addComputer, setComputerEnctypes } from "../../src/dc/computers.js";
import { type RunningDc, startDc } from "../../src/dc/daemon.js";
import { createPrincipalDatabase } from "../../src/dc/principals.js";
import { getEnctype, KeyUsage } from "../../src/kerberos/crypto/index.js";
import { kdcStarter } from "../../src/kerberos/kdc/dc-seam.js";
import { ticketPacBytes } from "../../src/kerberos/kdc/ticket.js";
import {
  AD_TYPE,
  type EncTicketPart,
  encodeAdIfRelevant,
  encodeEncTicketPart,
  KDC_OPTIONS,
  TICKET_FLAGS,
  type Ticket,
} from "../../src/kerberos/messages/index.js";
import { decodePac, signPac } from "../../src/kerberos/pac/index.js";
import { tempHome } from "../helpers/cli.js";
import { cliInit, PASSWORD } from "../dc/helpers.js";
import {
  buildAsReq,
  buildTgsReq,
  type Creds,
  expectCreds,
  openServiceTicket,
  principal,
  readReply,
} from "./client.js";
import { haveImpacket, impacketDecode, PYTHON } from "./impacket-decoder.js";

const REALM = "BIGFIRM.COM";
const SALT = `${REALM}Administrator`;
const EXAMPLES = "/usr/share/doc/python3-impacket/examples";
const admin = principal("Administrator");
const ws01 = principal("host", "ws01.bigfirm.com");
const ws02 = principal("host", "ws02.bigfirm.com");
const E = { C_PRINCIPAL_UNKNOWN: 6, POLICY: 12, BADOPTION: 13, TGT_REVOKED: 20, TKT_NYV: 33 };

/** One request over TCP to host:88 (RFC 4120 §7.2.2 framing), bounded at 5 s. */
function exchange(host: string, bytes: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const s = net.connect(88, host);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error("KDC did not answer in 5 s"));
    }, 5000);
    s.on("connect", () => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(bytes.length);
      s.write(Buffer.concat([len, bytes]));
    });
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        clearTimeout(timer);
        s.destroy();
        resolve(new Uint8Array(buf.subarray(4, 4 + buf.readUInt32BE(0))));
      }
    });
    s.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      cmd,
      args,
      { cwd, timeout: 30_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

/** A loopback address of this run's own (127.88.x.y): port 88 without meeting another DC. */
const HOST = `127.88.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;

describe("AD conformance of postern's KDC (issue 20), read by impacket", {
  skip: !haveImpacket() && "python3-impacket missing",
}, () => {
  const home = tempHome("pkd-ad");
  let dc: RunningDc;
  let adminKey: { etype: number; key: Uint8Array };
  let krbtgt: { etype: number; key: Uint8Array; kvno: number };
  let ws01Key: { etype: number; key: Uint8Array };
  let adminSid = "";
  const now = () => Date.now();

  const keyOf = (name: string, etype: number) => {
    const k = createPrincipalDatabase(dc.dir)
      .lookup(name, REALM)
      ?.keys.find((x) => x.etype === etype);
    assert.ok(k, `${name} has a key of etype ${etype}`);
    return { etype, key: k.key, kvno: k.kvno };
  };

  /** Administrator's TGT (AS-REQ built here), and the raw reply. */
  async function login(over: Partial<Parameters<typeof buildAsReq>[0]> = {}) {
    const reply = await exchange(
      HOST,
      buildAsReq({
        realm: REALM,
        cname: admin,
        etypes: [20, 19, 18, 17],
        key: adminKey,
        nowMs: now(),
        ...over,
      }),
    );
    return { reply, creds: expectCreds(readReply(reply, adminKey, KeyUsage.AS_REP_ENC_PART)) };
  }

  async function tgs(
    tgt: Creds,
    sname = ws01,
    over: Partial<Parameters<typeof buildTgsReq>[0]> = {},
  ) {
    return exchange(
      HOST,
      buildTgsReq({
        realm: REALM,
        tgt,
        cname: admin,
        sname,
        etypes: [20, 19, 18, 17],
        nowMs: now(),
        ...over,
      }),
    );
  }

  /** The TGT re-sealed with krbtgt's key after `edit` (what only a key holder could do). */
  function forge(tgt: Creds, edit: (p: EncTicketPart) => EncTicketPart): Creds {
    const part = edit(openServiceTicket(tgt.ticket, krbtgt.key));
    const cipher = getEnctype(krbtgt.etype).encrypt(
      krbtgt.key,
      KeyUsage.KDC_REP_TICKET,
      encodeEncTicketPart(part),
    );
    const ticket: Ticket = { ...tgt.ticket, encPart: { ...tgt.ticket.encPart, cipher } };
    return { ...tgt, ticket };
  }

  before(async () => {
    await cliInit(home.dir);
    dc = await startDc({
      home: home.dir,
      host: HOST,
      kdcPort: 88,
      dnsPort: 0,
      apiPort: 0,
      log: () => {},
      startKdc: kdcStarter({ realm: REALM, netbiosDomain: "BIGFIRM", dnsDomain: "bigfirm.com" }),
    });
    addComputer(dc.dir, "test", "ws01");
    addComputer(dc.dir, "test", "ws02");
    setComputerEnctypes(dc.dir, "test", "ws02", [
      "aes256-cts-hmac-sha384-192",
      "aes256-cts-hmac-sha1-96",
    ]);
    adminKey = keyOf("Administrator", 18);
    krbtgt = keyOf(`krbtgt/${REALM}`, 18);
    ws01Key = keyOf("WS01$", 18);
    adminSid = createPrincipalDatabase(dc.dir).lookup("Administrator", REALM)?.accountSid ?? "";
  });
  after(async () => {
    await dc?.stop();
    home.cleanup();
  });

  it("PREAUTH_REQUIRED (RFC 4120 §5.2.7.5, MS-KILE §3.3.5.1): e-data has PA-ETYPE-INFO2 with AD's salt, no s2kparams (default iterations), PA-ENC-TIMESTAMP; never PA-PW-SALT", async () => {
    const r = impacketDecode(
      await exchange(
        HOST,
        buildAsReq({ realm: REALM, cname: admin, etypes: [18, 17], nowMs: now() }),
      ),
    );
    assert.equal(r.type, "error");
    assert.equal(r.code, 25);
    const types = r.eData?.map((p) => p.type) ?? [];
    assert.ok(types.includes(2), "PA-ENC-TIMESTAMP");
    assert.ok(!types.includes(3), "no PA-PW-SALT");
    assert.deepEqual(r.eData?.find((p) => p.type === 19)?.etypeInfo2, [
      { etype: 18, salt: SALT },
      { etype: 17, salt: SALT },
    ]);
  });

  it("AS-REP padata (MS-KILE §3.3.5.6, RFC 6113 §5.4.1): PA-ETYPE-INFO2 for the reply key, with its salt; never PA-PW-SALT", async () => {
    const { reply } = await login();
    const r = impacketDecode(reply, { replyKey: { ...adminKey, usage: 3 } });
    assert.equal(r.type, "as-rep");
    assert.deepEqual(r.padata, [{ type: 19, etypeInfo2: [{ etype: 18, salt: SALT }] }]);
    assert.equal(r.encPartEtype, 18);
  });

  it("etypes (MS-KILE §3.3.5.2, §2.2.7): krbtgt and computers default to 0x18, so a client listing 20 first gets an aes256-sha1 TGT, session key and service ticket; an account set to 20 gets etype 20", async () => {
    const { reply, creds } = await login();
    const asr = impacketDecode(reply, { replyKey: { ...adminKey, usage: 3 }, ticketKey: krbtgt });
    assert.equal(asr.ticketEtype, 18);
    assert.equal(asr.sessionKeyEtype, 18);
    const st = impacketDecode(await tgs(creds), {
      replyKey: { ...creds.sessionKey, usage: 8 },
      ticketKey: ws01Key,
    });
    assert.equal(st.ticketEtype, 18);
    assert.equal(st.sessionKeyEtype, 18);
    // A client that lists only aes128: the session key follows the client, the ticket the target.
    const only17 = impacketDecode(await tgs(creds, ws01, { etypes: [17] }), {
      replyKey: { ...creds.sessionKey, usage: 8 },
    });
    assert.equal(only17.sessionKeyEtype, 17);
    assert.equal(only17.ticketEtype, 18);
    const st2 = impacketDecode(await tgs(creds, ws02), {
      replyKey: { ...creds.sessionKey, usage: 8 },
    });
    assert.equal(st2.ticketEtype, 20, "WS02 asked for aes256-cts-hmac-sha384-192");
    assert.equal(st2.sessionKeyEtype, 20);
  });

  it("PAC (MS-PAC §2.14, §2.15, §2.10; KB5008380): the TGT's ATTRIBUTES_INFO says what PA-PAC-REQUEST said (true 1, absent 2, false 0), REQUESTER_SID and UPN_DNS_INFO's SID extension are the account's", async () => {
    for (const [pacRequest, flags] of [
      [true, 1],
      [undefined, 2],
      [false, 0],
    ] as const) {
      const { reply } = await login(pacRequest === undefined ? {} : { pacRequest });
      const pac = impacketDecode(reply, { ticketKey: krbtgt }).pac;
      assert.ok(pac, "a TGT always carries the PAC (Samba test_pac_attrs_false)");
      assert.equal(pac.attributes, flags, `PA-PAC-REQUEST ${pacRequest}`);
      assert.equal(pac.requesterSid, adminSid);
      assert.equal(pac.logonSid, adminSid);
      assert.equal(pac.upnFlags! & 2, 2, "UPN_DNS_INFO has the S (SID) extension");
      assert.equal(pac.upnSid, adminSid);
      assert.equal(pac.upnSamName, "Administrator");
      assert.ok(
        !pac.types.includes(16) && !pac.types.includes(19),
        "no ticket or full checksum in a TGT",
      );
    }
  });

  it("service tickets (MS-PAC §2.8.3, §2.8.5; test_tgs_pac_request_false): server, KDC, ticket and full PAC checksums, no ATTRIBUTES_INFO or REQUESTER_SID; no PAC at all when the TGT's PA-PAC-REQUEST was false", async () => {
    const { creds } = await login({ pacRequest: true });
    const st = impacketDecode(await tgs(creds), { ticketKey: ws01Key });
    assert.deepEqual(Object.keys(st.pac?.signatureTypes ?? {}).sort(), ["16", "19", "6", "7"]);
    assert.ok(!st.pac?.types.includes(17) && !st.pac?.types.includes(18));
    const off = await login({ pacRequest: false });
    const none = impacketDecode(await tgs(off.creds), { ticketKey: ws01Key });
    assert.equal(none.type, "tgs-rep");
    assert.equal(none.pac, null);
  });

  it("TGT checks (test_tgs_no_pac, test_tgs_req_no_requester_sid, test_tgs_req_invalid): no PAC -> TGT_REVOKED, no REQUESTER_SID -> TGT_REVOKED, INVALID flag -> KRB_AP_ERR_TKT_NYV", async () => {
    const { creds } = await login();
    const noPac = forge(creds, ({ authorizationData: _ad, ...p }) => p);
    assert.equal(impacketDecode(await tgs(noPac)).code, E.TGT_REVOKED);
    const noRequester = forge(creds, (p) => {
      const k = { etype: krbtgt.etype, key: krbtgt.key };
      const pac = decodePac(ticketPacBytes(p)!);
      const kept = { buffers: pac.buffers.filter((b) => b.kind !== "requester-sid") };
      const ad = encodeAdIfRelevant([
        { adType: AD_TYPE.AD_WIN2K_PAC, adData: signPac(kept, k, k) },
      ]);
      return { ...p, authorizationData: [ad] };
    });
    assert.equal(impacketDecode(await tgs(noRequester)).code, E.TGT_REVOKED);
    const invalid = forge(creds, (p) => ({ ...p, flags: (p.flags | TICKET_FLAGS.invalid) >>> 0 }));
    assert.equal(impacketDecode(await tgs(invalid)).code, E.TKT_NYV);
  });

  it("renewal (test_renew_service_ticket; RFC 4120 §3.3.3.1): renewing a service ticket -> KDC_ERR_POLICY; renewing a TGT that is not RENEWABLE -> KDC_ERR_BADOPTION (as MIT and Heimdal)", async () => {
    const { creds } = await login();
    const st = expectCreds(readReply(await tgs(creds), creds.sessionKey, 8));
    const renewSt = await tgs(st, principal("krbtgt", REALM), { kdcOptions: KDC_OPTIONS.renew });
    assert.equal(impacketDecode(renewSt).code, E.POLICY);
    const renewTgt = await tgs(creds, principal("krbtgt", REALM), {
      kdcOptions: KDC_OPTIONS.renew,
    });
    assert.equal(impacketDecode(renewTgt).code, E.BADOPTION);
  });

  it("client names (MS-KILE §3.3.5.6.1; test_user2user_tgt_cname_host): an AS-REQ whose client is an SPN -> KDC_ERR_C_PRINCIPAL_UNKNOWN", async () => {
    const r = impacketDecode(
      await exchange(HOST, buildAsReq({ realm: REALM, cname: ws01, etypes: [18], nowMs: now() })),
    );
    assert.equal(r.code, E.C_PRINCIPAL_UNKNOWN);
  });

  it("flags (RFC 4120 §2.5, §2.6, §3.3.3): FORWARDABLE and PROXIABLE as asked and as the TGT allows; FORWARDED from a non-forwardable TGT -> BADOPTION", async () => {
    const fwd = await login({ kdcOptions: KDC_OPTIONS.forwardable | KDC_OPTIONS.proxiable });
    const tgtFlags = impacketDecode(fwd.reply, { ticketKey: krbtgt }).ticketFlags ?? [];
    assert.ok(tgtFlags.includes("forwardable") && tgtFlags.includes("proxiable"), tgtFlags.join());
    const st = impacketDecode(await tgs(fwd.creds, ws01, { kdcOptions: KDC_OPTIONS.forwardable }), {
      ticketKey: ws01Key,
    });
    assert.ok(st.ticketFlags?.includes("forwardable") && !st.ticketFlags.includes("proxiable"));
    const plain = await login({ kdcOptions: 0 });
    const st2 = impacketDecode(
      await tgs(plain.creds, ws01, { kdcOptions: KDC_OPTIONS.forwardable | KDC_OPTIONS.proxiable }),
      { ticketKey: ws01Key },
    );
    assert.ok(!st2.ticketFlags?.includes("forwardable") && !st2.ticketFlags?.includes("proxiable"));
    const forwarded = await tgs(plain.creds, principal("krbtgt", REALM), {
      kdcOptions: KDC_OPTIONS.forwarded,
    });
    assert.equal(impacketDecode(forwarded).code, E.BADOPTION);
  });

  it("impacket getTGT.py and getST.py (no -impersonate) get a TGT and a host/ service ticket, aes256-sha1 as AD's", async () => {
    const cwd = fs.mkdtempSync(path.join(home.dir, "imp-"));
    const tgt = await run(
      PYTHON,
      [path.join(EXAMPLES, "getTGT.py"), "-dc-ip", HOST, `${REALM}/Administrator:${PASSWORD}`],
      cwd,
    );
    assert.equal(tgt.code, 0, tgt.out);
    assert.match(tgt.out, /Saving ticket in Administrator\.ccache/);
    fs.renameSync(path.join(cwd, "Administrator.ccache"), path.join(cwd, "tgt.ccache"));
    const st = await run(
      PYTHON,
      [
        path.join(EXAMPLES, "getST.py"),
        "-k",
        "-no-pass",
        "-dc-ip",
        HOST,
        "-spn",
        "host/ws01.bigfirm.com",
        `${REALM}/Administrator`,
      ],
      cwd,
      { KRB5CCNAME: path.join(cwd, "tgt.ccache") },
    );
    assert.equal(st.code, 0, st.out);
    assert.doesNotMatch(st.out, /is not a valid EncryptionTypes|Error/);
    assert.match(st.out, /Saving ticket in Administrator\.ccache/);
  });

  it("impacket GetNPUsers.py: every account requires pre-authentication (AD's default), an unknown one is C_PRINCIPAL_UNKNOWN", async () => {
    const cwd = fs.mkdtempSync(path.join(home.dir, "np-"));
    fs.writeFileSync(path.join(cwd, "users.txt"), "Administrator\nWS01$\nnobody\n");
    const r = await run(
      PYTHON,
      [
        path.join(EXAMPLES, "GetNPUsers.py"),
        `${REALM}/`,
        "-dc-ip",
        HOST,
        "-no-pass",
        "-usersfile",
        "users.txt",
      ],
      cwd,
    );
    assert.match(r.out, /User Administrator doesn't have UF_DONT_REQUIRE_PREAUTH set/);
    assert.match(r.out, /User WS01\$ doesn't have UF_DONT_REQUIRE_PREAUTH set/);
    assert.match(r.out, /KDC_ERR_C_PRINCIPAL_UNKNOWN/);
    assert.doesNotMatch(r.out, /\$krb5asrep\$/, "no AS-REP roastable account");
  });
});
