/**
 * Any top-level Kerberos message as it arrives on the wire (RFC 4120 §5.10): the
 * APPLICATION tag says which; a KDC or client decodes with `decodeKrbMessage` and switches
 * on `type`.
 */
import { Asn1Error, nodeName, parseDer } from "../../asn1/der.js";
import { type ApRep, readApRep } from "./ap-rep.js";
import { type ApReq, readApReq } from "./ap-req.js";
import { type KdcRep, readAsRep, readTgsRep } from "./kdc-rep.js";
import { type KdcReq, readAsReq, readTgsReq } from "./kdc-req.js";
import { type KrbCred, readKrbCred } from "./krb-cred.js";
import { type KrbError, readKrbError } from "./krb-error.js";
import { type KrbPriv, readKrbPriv } from "./krb-priv.js";
import { type KrbSafe, readKrbSafe } from "./krb-safe.js";
import { MSG_TYPE } from "./msg-type.js";

export type KrbMessage =
  | { type: "AS-REQ"; value: KdcReq }
  | { type: "TGS-REQ"; value: KdcReq }
  | { type: "AS-REP"; value: KdcRep }
  | { type: "TGS-REP"; value: KdcRep }
  | { type: "AP-REQ"; value: ApReq }
  | { type: "AP-REP"; value: ApRep }
  | { type: "KRB-SAFE"; value: KrbSafe }
  | { type: "KRB-PRIV"; value: KrbPriv }
  | { type: "KRB-CRED"; value: KrbCred }
  | { type: "KRB-ERROR"; value: KrbError };

export function decodeKrbMessage(bytes: Uint8Array): KrbMessage {
  const node = parseDer(bytes, "KRB-MESSAGE");
  if (node.cls !== "application") {
    throw new Asn1Error(
      node.path,
      `expected a Kerberos message ([APPLICATION n]), got ${nodeName(node)}`,
    );
  }
  const at = (name: string) => ({ ...node, path: name });
  switch (node.tag) {
    case MSG_TYPE.AS_REQ:
      return { type: "AS-REQ", value: readAsReq(at("AS-REQ")) };
    case MSG_TYPE.TGS_REQ:
      return { type: "TGS-REQ", value: readTgsReq(at("TGS-REQ")) };
    case MSG_TYPE.AS_REP:
      return { type: "AS-REP", value: readAsRep(at("AS-REP")) };
    case MSG_TYPE.TGS_REP:
      return { type: "TGS-REP", value: readTgsRep(at("TGS-REP")) };
    case MSG_TYPE.AP_REQ:
      return { type: "AP-REQ", value: readApReq(at("AP-REQ")) };
    case MSG_TYPE.AP_REP:
      return { type: "AP-REP", value: readApRep(at("AP-REP")) };
    case MSG_TYPE.KRB_SAFE:
      return { type: "KRB-SAFE", value: readKrbSafe(at("KRB-SAFE")) };
    case MSG_TYPE.KRB_PRIV:
      return { type: "KRB-PRIV", value: readKrbPriv(at("KRB-PRIV")) };
    case MSG_TYPE.KRB_CRED:
      return { type: "KRB-CRED", value: readKrbCred(at("KRB-CRED")) };
    case MSG_TYPE.KRB_ERROR:
      return { type: "KRB-ERROR", value: readKrbError(at("KRB-ERROR")) };
    default:
      throw new Asn1Error(
        node.path,
        `[APPLICATION ${node.tag}] is not a Kerberos protocol message`,
      );
  }
}
