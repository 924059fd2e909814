/** The Kerberos client: AS and TGS exchanges, AP-REQ/AP-REP (see docs/kerberos-client.md). */
export { type ApReqInput, type BuiltApReq, buildApReq, verifyApRep } from "./ap-req.js";
export { buildAsReq, encTimestampPadata, randomNonce } from "./as-req.js";
export {
  type ClientDeps,
  createKerberosClient,
  DEFAULT_LIFETIME_SEC,
  type KerberosClient,
  type LoginInput,
  type LoginResult,
  memoryHints,
  type PreauthHints,
  tgsPrincipal,
} from "./client.js";
export { type ClientErrorCode, KdcError, KerberosClientError } from "./errors.js";
export { credentialFromReply, openKdcRep, readKdcReply } from "./kdc-reply.js";
export {
  type ClientKey,
  DEFAULT_ETYPES,
  defaultSalt,
  type KeySource,
  keytabEntryFor,
  type PreauthHint,
  parseEnctype,
  parseEnctypeList,
} from "./keys.js";
export { buildTgsReq } from "./tgs-req.js";
