/**
 * An independent decoder for the AD conformance suite: impacket 0.10's pyasn1 structures
 * (python3-impacket, run with /usr/bin/python3) parse the KDC's replies, decrypt them with
 * impacket's own crypto and walk the PAC with impacket's PACTYPE / VALIDATION_INFO /
 * UPN_DNS_INFO (and by hand where impacket 0.10 has no structure: ATTRIBUTES_INFO,
 * REQUESTER_SID, UPN_DNS_INFO's SID extension). None of postern's codec is involved.
 * Imported by tests only; does nothing when loaded.
 */
import { execFileSync } from "node:child_process";

export const PYTHON = "/usr/bin/python3";

export function haveImpacket(): boolean {
  try {
    execFileSync(PYTHON, ["-c", "import impacket.krb5.asn1"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const SCRIPT = `
import json, struct, sys
from pyasn1.codec.der import decoder
from impacket.krb5 import asn1, crypto, constants
from impacket.krb5.pac import PACTYPE, PAC_INFO_BUFFER, VALIDATION_INFO, UPN_DNS_INFO
from impacket.ldap.ldaptypes import LDAP_SID

def etype_info2(raw):
    out = []
    for e in decoder.decode(raw, asn1Spec=asn1.ETYPE_INFO2())[0]:
        d = {"etype": int(e['etype'])}
        if e['salt'].hasValue(): d["salt"] = str(e['salt'])
        if e['s2kparams'].hasValue(): d["s2kparams"] = bytes(e['s2kparams']).hex()
        out.append(d)
    return out

def padata(seq):
    out = []
    for p in seq:
        t = int(p['padata-type']); v = bytes(p['padata-value'])
        d = {"type": t}
        if t == 19: d["etypeInfo2"] = etype_info2(v)
        out.append(d)
    return out

def flags(bits):
    names = {0:"reserved",1:"forwardable",2:"forwarded",3:"proxiable",4:"proxy",5:"may-postdate",6:"postdated",7:"invalid",8:"renewable",9:"initial",10:"pre-authent",11:"hw-authent",12:"transited-policy-checked",13:"ok-as-delegate"}
    return [names.get(i, str(i)) for i, b in enumerate(bits) if b]

def decrypt(k, usage, enc):
    key = crypto.Key(k["etype"], bytes.fromhex(k["key"]))
    return crypto._enctype_table[k["etype"]].decrypt(key, usage, bytes(enc['cipher']))

def pac_of(part):
    if not part['authorization-data'].hasValue(): return None
    for ad in part['authorization-data']:
        if int(ad['ad-type']) != 1: continue
        for inner in decoder.decode(bytes(ad['ad-data']), asn1Spec=asn1.AD_IF_RELEVANT())[0]:
            if int(inner['ad-type']) == 128: return bytes(inner['ad-data'])
    return None

def read_pac(data):
    pt = PACTYPE(data)
    bufs = pt['Buffers']
    out = {"types": []}
    for i in range(pt['cBuffers']):
        ib = PAC_INFO_BUFFER(bufs[i*16:(i+1)*16])
        t = ib['ulType']; b = data[ib['Offset']:ib['Offset']+ib['cbBufferSize']]
        out["types"].append(t)
        if t == 1:
            v = VALIDATION_INFO(); v.fromString(b); v.fromStringReferents(b, len(v.getData()))
            d = v['Data']
            out["logonSid"] = d['LogonDomainId'].formatCanonical() + "-" + str(d['UserId'])
            out["logonName"] = str(d['EffectiveName'])
        elif t == 12:
            u = UPN_DNS_INFO(b)
            out["upnFlags"] = u['Flags']
            out["upn"] = b[u['UpnOffset']:u['UpnOffset']+u['UpnLength']].decode('utf-16-le')
            if u['Flags'] & 2:
                sl, so, il, io = struct.unpack_from('<HHHH', b, 12)
                out["upnSamName"] = b[so:so+sl].decode('utf-16-le')
                out["upnSid"] = LDAP_SID(b[io:io+il]).formatCanonical()
        elif t == 17:
            out["attributes"] = struct.unpack_from('<II', b, 0)[1]
        elif t == 18:
            out["requesterSid"] = LDAP_SID(b).formatCanonical()
        elif t in (6, 7, 16, 19):
            out.setdefault("signatureTypes", {})[str(t)] = struct.unpack_from('<i', b, 0)[0]
    return out

def main(req):
    raw = bytes.fromhex(req["msg"])
    tag = raw[0] & 0x1f
    if tag == 30:
        e = decoder.decode(raw, asn1Spec=asn1.KRB_ERROR())[0]
        d = {"type": "error", "code": int(e['error-code'])}
        if e['e-data'].hasValue():
            try: d["eData"] = padata(decoder.decode(bytes(e['e-data']), asn1Spec=asn1.METHOD_DATA())[0])
            except Exception: d["eData"] = "undecodable"
        return d
    spec = asn1.AS_REP() if tag == 11 else asn1.TGS_REP()
    r = decoder.decode(raw, asn1Spec=spec)[0]
    d = {"type": "as-rep" if tag == 11 else "tgs-rep",
         "padata": padata(r['padata']) if r['padata'].hasValue() else [],
         "ticketEtype": int(r['ticket']['enc-part']['etype']),
         "encPartEtype": int(r['enc-part']['etype'])}
    if "replyKey" in req:
        plain = decrypt(req["replyKey"], req["replyKey"]["usage"], r['enc-part'])
        spec2 = asn1.EncASRepPart() if tag == 11 else asn1.EncTGSRepPart()
        try: p = decoder.decode(plain, asn1Spec=spec2)[0]
        except Exception: p = decoder.decode(plain, asn1Spec=asn1.EncTGSRepPart())[0]
        d["sessionKeyEtype"] = int(p['key']['keytype'])
        d["sessionKey"] = bytes(p['key']['keyvalue']).hex()
        d["flags"] = flags(p['flags'])
    if "ticketKey" in req:
        part = decoder.decode(decrypt(req["ticketKey"], 2, r['ticket']['enc-part']), asn1Spec=asn1.EncTicketPart())[0]
        d["ticketFlags"] = flags(part['flags'])
        pac = pac_of(part)
        d["pac"] = read_pac(pac) if pac else None
    return d

print(json.dumps(main(json.loads(sys.stdin.read()))))
`;

export interface Decoded {
  type: "error" | "as-rep" | "tgs-rep";
  code?: number;
  eData?: { type: number; etypeInfo2?: { etype: number; salt?: string; s2kparams?: string }[] }[];
  padata?: { type: number; etypeInfo2?: { etype: number; salt?: string; s2kparams?: string }[] }[];
  ticketEtype?: number;
  encPartEtype?: number;
  sessionKeyEtype?: number;
  sessionKey?: string;
  flags?: string[];
  ticketFlags?: string[];
  pac?: {
    types: number[];
    logonSid?: string;
    logonName?: string;
    upnFlags?: number;
    upn?: string;
    upnSamName?: string;
    upnSid?: string;
    attributes?: number;
    requesterSid?: string;
    signatureTypes?: Record<string, number>;
  } | null;
}

type Key = { etype: number; key: Uint8Array };
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Decodes `msg` with impacket; `replyKey` opens the enc-part, `ticketKey` the ticket. */
export function impacketDecode(
  msg: Uint8Array,
  opts: { replyKey?: Key & { usage: number }; ticketKey?: Key } = {},
): Decoded {
  const req: Record<string, unknown> = { msg: hex(msg) };
  if (opts.replyKey)
    req.replyKey = {
      etype: opts.replyKey.etype,
      key: hex(opts.replyKey.key),
      usage: opts.replyKey.usage,
    };
  if (opts.ticketKey) req.ticketKey = { etype: opts.ticketKey.etype, key: hex(opts.ticketKey.key) };
  const out = execFileSync(PYTHON, ["-c", SCRIPT], { input: JSON.stringify(req), timeout: 20_000 });
  return JSON.parse(out.toString()) as Decoded;
}
