/**
 * SPNEGO (RFC 4178) as an HTTP Negotiate acceptor needs it (RFC 4559 §4), Kerberos only:
 *
 *   initial token: 0x60 len, thisMech 1.3.6.1.5.5.2, [0] NegTokenInit
 *   NegTokenInit ::= SEQUENCE {
 *     mechTypes   [0] MechTypeList (SEQUENCE OF OID),
 *     reqFlags    [1] ContextFlags OPTIONAL,
 *     mechToken   [2] OCTET STRING OPTIONAL,   -- the optimistic token of mechTypes[0]
 *     mechListMIC [3] OCTET STRING OPTIONAL }
 *   answer: [1] NegTokenResp ::= SEQUENCE {
 *     negState      [0] ENUMERATED { accept-completed(0), accept-incomplete(1), reject(2),
 *                                    request-mic(3) } OPTIONAL,
 *     supportedMech [1] MechType OPTIONAL,
 *     responseToken [2] OCTET STRING OPTIONAL,
 *     mechListMIC   [3] OCTET STRING OPTIONAL }
 * Only the one-round case is taken: mechTypes[0] is Kerberos V5 (1.2.840.113554.1.2.2 or
 * Microsoft's 1.2.840.48018.1.2.2) and mechToken its AP-REQ; the answer is accept-completed
 * with the AP-REP. Anything else is a reason string.
 */
import { childrenOf, type DerNode, parseDer, UNIVERSAL } from "../../asn1/der.js";
import { derExplicit, derFields, derOctetString, derTlv } from "../../asn1/writer.js";

export const SPNEGO_OID = Uint8Array.from([0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02]);
const KRB5_OIDS = ["2a864886f712010202", "2a864882f712010202"];

/** True when the token is an SPNEGO initial context token (not a raw mechanism token). */
export function isSpnego(token: Uint8Array): boolean {
  if (token[0] !== 0x60) return false;
  const at = (token[1] as number) & 0x80 ? 2 + ((token[1] as number) & 0x7f) : 2;
  return Buffer.from(token.subarray(at, at + SPNEGO_OID.length)).equals(SPNEGO_OID);
}

function field(items: DerNode[], n: number): DerNode | undefined {
  const f = items.find((x) => x.cls === "context" && x.tag === n);
  return f ? (childrenOf(f)[0] as DerNode) : undefined;
}

/** The Kerberos mechanism token of a NegTokenInit and the mech OID (hex) it was sent for. */
export function readNegTokenInit(
  token: Uint8Array,
): { mech: string; mechToken: Uint8Array } | string {
  let items: DerNode[];
  try {
    const outer = parseDer(token, "spnego");
    const [oid, init] = childrenOf(outer);
    if (!oid || !init || init.cls !== "context" || init.tag !== 0)
      return "SPNEGO token is not a NegTokenInit";
    items = childrenOf(childrenOf(init)[0] as DerNode);
  } catch (e) {
    return `malformed SPNEGO token: ${(e as Error).message}`;
  }
  const types = field(items, 0);
  const first = types ? childrenOf(types)[0] : undefined;
  if (!first || first.tag !== UNIVERSAL.OBJECT_IDENTIFIER)
    return "SPNEGO NegTokenInit names no mechanism";
  const mech = Buffer.from(first.content).toString("hex");
  if (!KRB5_OIDS.includes(mech)) return "SPNEGO: the preferred mechanism is not Kerberos V5";
  const tok = field(items, 2);
  if (!tok || tok.tag !== UNIVERSAL.OCTET_STRING)
    return "SPNEGO NegTokenInit carries no Kerberos token";
  return { mech, mechToken: tok.content };
}

/** [1] NegTokenResp { accept-completed, supportedMech, responseToken }. */
export function negTokenRespCompleted(mechHex: string, responseToken: Uint8Array): Uint8Array {
  const oid = derTlv("universal", false, UNIVERSAL.OBJECT_IDENTIFIER, Buffer.from(mechHex, "hex"));
  const enumerated = derTlv("universal", false, 10, Uint8Array.of(0));
  return derExplicit(
    1,
    derFields([
      [0, enumerated],
      [1, oid],
      [2, derOctetString(responseToken)],
    ]),
  );
}
