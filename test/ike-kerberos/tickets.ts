/**
 * Service tickets made in the test, as a KDC would issue them: an EncTicketPart encrypted
 * in the service's key (usage 2), optionally with a PAC whose LOGON_INFO carries group RIDs,
 * signed with the service key and the KDC's (krbtgt) key via src/kerberos/pac (signPac,
 * buildLogonInfo). Used where the test must control every field (expiry, keys, groups):
 * MIT's krb5kdc puts a PAC without LOGON_INFO; our KDC's groups are tested in our-kdc.test.ts.
 */
import { getEnctype, KeyUsage } from "../../src/kerberos/crypto/index.js";
import {
  AD_TYPE,
  type EncTicketPart,
  encodeAdIfRelevant,
  encodeEncTicketPart,
  TICKET_FLAGS,
  type Ticket,
} from "../../src/kerberos/messages/index.js";
import { buildLogonInfo, signPac } from "../../src/kerberos/pac/index.js";
import type { Principal } from "../../src/kerberos/principal.js";
import type { ServiceTicket } from "../../src/ike/kerberos-auth.js";

export interface Key {
  etype: number;
  key: Uint8Array;
  kvno: number;
}

export interface TicketInput {
  client: Principal;
  service: Principal;
  serviceKey: Key;
  /** With a PAC signed by the service key and this KDC key. */
  pac?: { kdcKey: Key; domainSid: string; userRid: number; groupRids: number[] };
  startMs: number;
  endMs: number;
}

export function makeServiceTicket(t: TicketInput): ServiceTicket {
  const enc = getEnctype(t.serviceKey.etype);
  const sessionKey = { keytype: t.serviceKey.etype, keyvalue: enc.generateKey() };
  const start = new Date(t.startMs - (t.startMs % 1000));
  const part: EncTicketPart = {
    flags: TICKET_FLAGS.forwardable | TICKET_FLAGS.preAuthent,
    key: sessionKey,
    crealm: t.client.realm,
    cname: t.client.name,
    transited: { trType: 1, contents: new Uint8Array(0) },
    authtime: start,
    endtime: new Date(t.endMs - (t.endMs % 1000)),
  };
  if (t.pac) {
    const logon = buildLogonInfo({
      userName: t.client.name.nameString.join("/"),
      userId: t.pac.userRid,
      primaryGroupId: 515,
      groupRids: t.pac.groupRids,
      domainSid: t.pac.domainSid,
      domainName: "BIGFIRM",
      logonTimeMs: start.getTime(),
      userAccountControl: 0x1000,
    });
    const pac = signPac(
      { buffers: [{ kind: "logon-info", value: logon }] },
      { etype: t.serviceKey.etype, key: t.serviceKey.key },
      { etype: t.pac.kdcKey.etype, key: t.pac.kdcKey.key },
    );
    part.authorizationData = [encodeAdIfRelevant([{ adType: AD_TYPE.AD_WIN2K_PAC, adData: pac }])];
  }
  const ticket: Ticket = {
    realm: t.service.realm,
    sname: t.service.name,
    encPart: {
      etype: t.serviceKey.etype,
      kvno: t.serviceKey.kvno,
      cipher: enc.encrypt(t.serviceKey.key, KeyUsage.KDC_REP_TICKET, encodeEncTicketPart(part)),
    },
  };
  return { ticket, sessionKey, client: t.client };
}
