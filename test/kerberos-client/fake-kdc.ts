/**
 * A small scripted KDC for unit tests of the client, behind the transport's fake KdcIo:
 * AS with PA-ENC-TIMESTAMP required (PREAUTH_REQUIRED + ETYPE-INFO2 with salt and
 * s2kparams), TGS with the authenticator checksum over the req-body bytes checked, a KDC
 * clock of its own (for KRB_AP_ERR_SKEW), and tickets carrying a PAC with LOGON_INFO
 * (groups) signed by the service and KDC keys. It records what it received.
 */
import { getEnctype, KeyUsage } from "../../src/kerberos/crypto/index.js";
import {
  AD_TYPE,
  decodeApReq,
  decodeAsReq,
  decodeAuthenticator,
  decodeEncTicketPart,
  decodePaEncTimestamp,
  decodePaEncTsEnc,
  decodeTgsReq,
  type EncTicketPart,
  encodeAdIfRelevant,
  encodeAsRep,
  encodeEncAsRepPart,
  encodeEncTgsRepPart,
  encodeEncTicketPart,
  encodeEtypeInfo2,
  encodeKrbError,
  encodeMethodData,
  encodeTgsRep,
  findPaData,
  KRB_ERROR_CODE,
  kdcReqBodyBytes,
  PA_TYPE,
  type PrincipalName,
  TICKET_FLAGS,
  type Ticket,
} from "../../src/kerberos/messages/index.js";
import { buildLogonInfo, signPac } from "../../src/kerberos/pac/index.js";
import { formatPrincipalName } from "../../src/kerberos/principal.js";
import { createFakeKdcIo } from "../../src/kerberos/transport.js";

export interface FakeAccount {
  etype: number;
  key: Uint8Array;
  kvno: number;
  salt?: string;
  s2kparams?: Uint8Array;
  rid?: number;
  groupRids?: number[];
}

export interface FakeKdcOptions {
  realm: string;
  /** name without realm -> account (clients and services). */
  accounts: Record<string, FakeAccount>;
  /** The KDC's clock. */
  now(): number;
  domainSid?: string;
}

const SKEW_MS = 300_000;

export function createFakeKdc(o: FakeKdcOptions) {
  const krbtgt = o.accounts[`krbtgt/${o.realm}`]!;
  const received: string[] = [];
  const err = (code: number, sname: PrincipalName, eData?: Uint8Array) => {
    const ms = o.now();
    return encodeKrbError({
      stime: new Date(ms - (ms % 1000)),
      susec: (ms % 1000) * 1000,
      errorCode: code,
      realm: o.realm,
      sname,
      ...(eData ? { eData } : {}),
    });
  };
  const issue = (client: PrincipalName, server: PrincipalName, sessionEtype: number) => {
    const service = o.accounts[formatPrincipalName(server)]!;
    const user = o.accounts[formatPrincipalName(client)]!;
    const enc = getEnctype(sessionEtype);
    const key = { keytype: sessionEtype, keyvalue: enc.generateKey() };
    const now = new Date(o.now() - (o.now() % 1000));
    const part: EncTicketPart = {
      flags: TICKET_FLAGS.forwardable | TICKET_FLAGS.preAuthent,
      key,
      crealm: o.realm,
      cname: client,
      transited: { trType: 1, contents: new Uint8Array(0) },
      authtime: now,
      endtime: new Date(now.getTime() + 3600_000),
    };
    if (user.rid !== undefined) {
      const logon = buildLogonInfo({
        userName: client.nameString.join("/"),
        userId: user.rid,
        primaryGroupId: 515,
        groupRids: user.groupRids ?? [],
        domainSid: o.domainSid ?? "S-1-5-21-1-2-3",
        domainName: "FAKE",
        logonTimeMs: now.getTime(),
      });
      const pac = signPac(
        { buffers: [{ kind: "logon-info", value: logon }] },
        { etype: service.etype, key: service.key },
        { etype: krbtgt.etype, key: krbtgt.key },
      );
      part.authorizationData = [
        encodeAdIfRelevant([{ adType: AD_TYPE.AD_WIN2K_PAC, adData: pac }]),
      ];
    }
    const ticket: Ticket = {
      realm: o.realm,
      sname: server,
      encPart: {
        etype: service.etype,
        kvno: service.kvno,
        cipher: getEnctype(service.etype).encrypt(
          service.key,
          KeyUsage.KDC_REP_TICKET,
          encodeEncTicketPart(part),
        ),
      },
    };
    return { ticket, key, part };
  };

  function as(req: Uint8Array): Uint8Array {
    const r = decodeAsReq(req);
    const body = r.reqBody;
    const sname = body.sname!;
    const user = o.accounts[formatPrincipalName(body.cname!)];
    if (!user) return err(KRB_ERROR_CODE.KDC_ERR_C_PRINCIPAL_UNKNOWN, sname);
    const ts = findPaData(r.padata, PA_TYPE.PA_ENC_TIMESTAMP);
    if (!ts) {
      received.push("AS-REQ");
      const info = encodeEtypeInfo2([
        {
          etype: user.etype,
          ...(user.salt ? { salt: user.salt } : {}),
          ...(user.s2kparams ? { s2kparams: user.s2kparams } : {}),
        },
      ]);
      return err(
        KRB_ERROR_CODE.KDC_ERR_PREAUTH_REQUIRED,
        sname,
        encodeMethodData([
          { padataType: PA_TYPE.PA_ENC_TIMESTAMP, padataValue: new Uint8Array(0) },
          { padataType: PA_TYPE.PA_ETYPE_INFO2, padataValue: info },
        ]),
      );
    }
    received.push("AS-REQ+ENC-TIMESTAMP");
    let when: number;
    try {
      const ed = decodePaEncTimestamp(ts.padataValue);
      const plain = getEnctype(ed.etype).decrypt(
        user.key,
        KeyUsage.AS_REQ_PA_ENC_TIMESTAMP,
        ed.cipher,
      );
      const t = decodePaEncTsEnc(plain);
      when = t.patimestamp.getTime() + Math.floor((t.pausec ?? 0) / 1000);
    } catch {
      return err(KRB_ERROR_CODE.KDC_ERR_PREAUTH_FAILED, sname);
    }
    if (Math.abs(when - o.now()) > SKEW_MS) return err(KRB_ERROR_CODE.KRB_AP_ERR_SKEW, sname);
    const sessionEtype = body.etype.find((e) => [17, 18, 19, 20].includes(e))!;
    const { ticket, key, part } = issue(body.cname!, sname, sessionEtype);
    const encPart = encodeEncAsRepPart({
      key,
      lastReq: [],
      nonce: body.nonce,
      flags: part.flags | TICKET_FLAGS.initial,
      authtime: part.authtime,
      endtime: part.endtime,
      srealm: o.realm,
      sname,
    });
    return encodeAsRep({
      crealm: o.realm,
      cname: body.cname!,
      ticket,
      encPart: {
        etype: user.etype,
        cipher: getEnctype(user.etype).encrypt(user.key, KeyUsage.AS_REP_ENC_PART, encPart),
      },
    });
  }

  function tgs(req: Uint8Array): Uint8Array {
    received.push("TGS-REQ");
    const r = decodeTgsReq(req);
    const body = r.reqBody;
    const sname = body.sname!;
    const ap = decodeApReq(findPaData(r.padata, PA_TYPE.PA_TGS_REQ)!.padataValue);
    const tgt = decodeEncTicketPart(
      getEnctype(krbtgt.etype).decrypt(
        krbtgt.key,
        KeyUsage.KDC_REP_TICKET,
        ap.ticket.encPart.cipher,
      ),
    );
    const se = getEnctype(tgt.key.keytype);
    const auth = decodeAuthenticator(
      se.decrypt(tgt.key.keyvalue, KeyUsage.TGS_REQ_AUTH, ap.authenticator.cipher),
    );
    if (
      !auth.cksum ||
      !se.verifyChecksum(
        tgt.key.keyvalue,
        KeyUsage.TGS_REQ_AUTH_CKSUM,
        kdcReqBodyBytes(req),
        auth.cksum.checksum,
      )
    ) {
      return err(KRB_ERROR_CODE.KRB_AP_ERR_MODIFIED, sname);
    }
    const when = auth.ctime.getTime() + Math.floor(auth.cusec / 1000);
    if (Math.abs(when - o.now()) > SKEW_MS) return err(KRB_ERROR_CODE.KRB_AP_ERR_SKEW, sname);
    if (!o.accounts[formatPrincipalName(sname)])
      return err(KRB_ERROR_CODE.KDC_ERR_S_PRINCIPAL_UNKNOWN, sname);
    const { ticket, key, part } = issue(tgt.cname, sname, tgt.key.keytype);
    const encPart = encodeEncTgsRepPart({
      key,
      lastReq: [],
      nonce: body.nonce,
      flags: part.flags,
      authtime: part.authtime,
      endtime: part.endtime,
      srealm: o.realm,
      sname,
    });
    const replyKey = auth.subkey ?? tgt.key;
    const usage = auth.subkey
      ? KeyUsage.TGS_REP_ENC_PART_SUBKEY
      : KeyUsage.TGS_REP_ENC_PART_SESSION_KEY;
    return encodeTgsRep({
      crealm: o.realm,
      cname: tgt.cname,
      ticket,
      encPart: {
        etype: replyKey.keytype,
        cipher: getEnctype(replyKey.keytype).encrypt(replyKey.keyvalue, usage, encPart),
      },
    });
  }

  const io = createFakeKdcIo((_proto, _kdc, req) => (req[0] === 0x6a ? as(req) : tgs(req)));
  return { io, received };
}
