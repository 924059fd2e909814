/**
 * fast-check arbitraries for every RFC 4120 message, producing records in the shape the
 * decoders return (absent OPTIONAL fields are missing keys, times are whole seconds).
 */
import fc from "fast-check";
import type {
  ApRep,
  ApReq,
  Authenticator,
  AuthorizationDataEntry,
  Checksum,
  EncApRepPart,
  EncKdcRepPart,
  EncKrbCredPart,
  EncryptedData,
  EncryptionKey,
  EncTicketPart,
  EtypeInfo2Entry,
  HostAddress,
  KdcRep,
  KerbErrorData,
  KdcReq,
  KdcReqBody,
  KrbCred,
  KrbCredInfo,
  KrbError,
  KrbPriv,
  KrbSafe,
  KrbSafeBody,
  LastReqEntry,
  PaData,
  PaEncTsEnc,
  PaForUser,
  PaPacRequest,
  PrincipalName,
  Ticket,
  TransitedEncoding,
  TypedDataEntry,
} from "../../src/kerberos/messages/index.js";

export const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
export const uint32 = fc.integer({ min: 0, max: 0xffffffff });
export const usec = fc.integer({ min: 0, max: 999999 });
export const bytes = fc.uint8Array({ maxLength: 40 });
export const kstring = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
);
export const ktime = fc
  .date({
    min: new Date("0000-01-01T00:00:00Z"),
    max: new Date("9999-12-31T23:59:59Z"),
    noInvalidDate: true,
  })
  .map((d) => new Date(Math.floor(d.getTime() / 1000) * 1000));
const list = <T>(a: fc.Arbitrary<T>, max = 3) => fc.array(a, { maxLength: max });
const nonEmpty = <T>(a: fc.Arbitrary<T>, max = 3) => fc.array(a, { minLength: 1, maxLength: max });

/** Records with `optional` keys sometimes absent (never present-but-undefined). */
function rec<T>(
  model: { [K in keyof T]-?: fc.Arbitrary<T[K]> },
  required: (keyof T)[],
): fc.Arbitrary<T> {
  return fc.record(model as never, {
    requiredKeys: required as never[],
    noNullPrototype: true,
  }) as unknown as fc.Arbitrary<T>;
}

export const principalName: fc.Arbitrary<PrincipalName> = rec<PrincipalName>(
  { nameType: int32, nameString: list(kstring) },
  ["nameType", "nameString"],
);
export const hostAddress: fc.Arbitrary<HostAddress> = rec<HostAddress>(
  { addrType: int32, address: bytes },
  ["addrType", "address"],
);
export const encryptedData: fc.Arbitrary<EncryptedData> = rec<EncryptedData>(
  { etype: int32, kvno: uint32, cipher: bytes },
  ["etype", "cipher"],
);
export const encryptionKey: fc.Arbitrary<EncryptionKey> = rec<EncryptionKey>(
  { keytype: int32, keyvalue: bytes },
  ["keytype", "keyvalue"],
);
export const checksum: fc.Arbitrary<Checksum> = rec<Checksum>(
  { cksumtype: int32, checksum: bytes },
  ["cksumtype", "checksum"],
);
export const adEntry: fc.Arbitrary<AuthorizationDataEntry> = rec<AuthorizationDataEntry>(
  { adType: int32, adData: bytes },
  ["adType", "adData"],
);
export const paData: fc.Arbitrary<PaData> = rec<PaData>({ padataType: int32, padataValue: bytes }, [
  "padataType",
  "padataValue",
]);
export const transited: fc.Arbitrary<TransitedEncoding> = rec<TransitedEncoding>(
  { trType: int32, contents: bytes },
  ["trType", "contents"],
);
export const lastReq: fc.Arbitrary<LastReqEntry> = rec<LastReqEntry>(
  { lrType: int32, lrValue: ktime },
  ["lrType", "lrValue"],
);

export const ticket: fc.Arbitrary<Ticket> = rec<Ticket>(
  { realm: kstring, sname: principalName, encPart: encryptedData },
  ["realm", "sname", "encPart"],
);

export const kdcReqBody: fc.Arbitrary<KdcReqBody> = rec<KdcReqBody>(
  {
    kdcOptions: uint32,
    cname: principalName,
    realm: kstring,
    sname: principalName,
    from: ktime,
    till: ktime,
    rtime: ktime,
    nonce: uint32,
    etype: list(int32, 6),
    addresses: list(hostAddress),
    encAuthorizationData: encryptedData,
    additionalTickets: list(ticket, 2),
  },
  ["kdcOptions", "realm", "till", "nonce", "etype"],
);

export const kdcReq: fc.Arbitrary<KdcReq> = rec<KdcReq>(
  { padata: list(paData), reqBody: kdcReqBody },
  ["reqBody"],
);

export const kdcRep: fc.Arbitrary<KdcRep> = rec<KdcRep>(
  { padata: list(paData), crealm: kstring, cname: principalName, ticket, encPart: encryptedData },
  ["crealm", "cname", "ticket", "encPart"],
);

export const encKdcRepPart: fc.Arbitrary<EncKdcRepPart> = rec<EncKdcRepPart>(
  {
    key: encryptionKey,
    lastReq: list(lastReq),
    nonce: uint32,
    keyExpiration: ktime,
    flags: uint32,
    authtime: ktime,
    starttime: ktime,
    endtime: ktime,
    renewTill: ktime,
    srealm: kstring,
    sname: principalName,
    caddr: list(hostAddress),
    encryptedPaData: list(paData),
  },
  ["key", "lastReq", "nonce", "flags", "authtime", "endtime", "srealm", "sname"],
);

export const encTicketPart: fc.Arbitrary<EncTicketPart> = rec<EncTicketPart>(
  {
    flags: uint32,
    key: encryptionKey,
    crealm: kstring,
    cname: principalName,
    transited,
    authtime: ktime,
    starttime: ktime,
    endtime: ktime,
    renewTill: ktime,
    caddr: list(hostAddress),
    authorizationData: list(adEntry),
  },
  ["flags", "key", "crealm", "cname", "transited", "authtime", "endtime"],
);

export const authenticator: fc.Arbitrary<Authenticator> = rec<Authenticator>(
  {
    crealm: kstring,
    cname: principalName,
    cksum: checksum,
    cusec: usec,
    ctime: ktime,
    subkey: encryptionKey,
    seqNumber: uint32,
    authorizationData: list(adEntry),
  },
  ["crealm", "cname", "cusec", "ctime"],
);

export const apReq: fc.Arbitrary<ApReq> = rec<ApReq>(
  { apOptions: uint32, ticket, authenticator: encryptedData },
  ["apOptions", "ticket", "authenticator"],
);
export const apRep: fc.Arbitrary<ApRep> = rec<ApRep>({ encPart: encryptedData }, ["encPart"]);
export const encApRepPart: fc.Arbitrary<EncApRepPart> = rec<EncApRepPart>(
  { ctime: ktime, cusec: usec, subkey: encryptionKey, seqNumber: uint32 },
  ["ctime", "cusec"],
);

export const krbError: fc.Arbitrary<KrbError> = rec<KrbError>(
  {
    ctime: ktime,
    cusec: usec,
    stime: ktime,
    susec: usec,
    errorCode: int32,
    crealm: kstring,
    cname: principalName,
    realm: kstring,
    sname: principalName,
    eText: kstring,
    eData: bytes,
  },
  ["stime", "susec", "errorCode", "realm", "sname"],
);

export const paEncTsEnc: fc.Arbitrary<PaEncTsEnc> = rec<PaEncTsEnc>(
  { patimestamp: ktime, pausec: usec },
  ["patimestamp"],
);
export const etypeInfo2Entry: fc.Arbitrary<EtypeInfo2Entry> = rec<EtypeInfo2Entry>(
  { etype: int32, salt: kstring, s2kparams: bytes },
  ["etype"],
);
export const etypeInfo2 = nonEmpty(etypeInfo2Entry, 4);
export const paPacRequest: fc.Arbitrary<PaPacRequest> = rec<PaPacRequest>(
  { includePac: fc.boolean() },
  ["includePac"],
);
export const paForUser: fc.Arbitrary<PaForUser> = rec<PaForUser>(
  { userName: principalName, userRealm: kstring, cksum: checksum, authPackage: kstring },
  ["userName", "userRealm", "cksum", "authPackage"],
);

export const krbSafeBody: fc.Arbitrary<KrbSafeBody> = rec<KrbSafeBody>(
  {
    userData: bytes,
    timestamp: ktime,
    usec,
    seqNumber: uint32,
    sAddress: hostAddress,
    rAddress: hostAddress,
  },
  ["userData", "sAddress"],
);
export const krbSafe: fc.Arbitrary<KrbSafe> = rec<KrbSafe>(
  { safeBody: krbSafeBody, cksum: checksum },
  ["safeBody", "cksum"],
);
export const krbPriv: fc.Arbitrary<KrbPriv> = rec<KrbPriv>({ encPart: encryptedData }, ["encPart"]);
export const krbCred: fc.Arbitrary<KrbCred> = rec<KrbCred>(
  { tickets: list(ticket, 2), encPart: encryptedData },
  ["tickets", "encPart"],
);
export const krbCredInfo: fc.Arbitrary<KrbCredInfo> = rec<KrbCredInfo>(
  {
    key: encryptionKey,
    prealm: kstring,
    pname: principalName,
    flags: uint32,
    authtime: ktime,
    starttime: ktime,
    endtime: ktime,
    renewTill: ktime,
    srealm: kstring,
    sname: principalName,
    caddr: list(hostAddress),
  },
  ["key"],
);
export const encKrbCredPart: fc.Arbitrary<EncKrbCredPart> = rec<EncKrbCredPart>(
  {
    ticketInfo: list(krbCredInfo, 2),
    nonce: uint32,
    timestamp: ktime,
    usec,
    sAddress: hostAddress,
    rAddress: hostAddress,
  },
  ["ticketInfo"],
);

export const typedData = nonEmpty(
  rec<TypedDataEntry>({ dataType: int32, dataValue: bytes }, ["dataType"]),
  3,
);
export const kerbErrorData: fc.Arbitrary<KerbErrorData> = rec<KerbErrorData>(
  { dataType: int32, dataValue: bytes },
  ["dataType"],
);
