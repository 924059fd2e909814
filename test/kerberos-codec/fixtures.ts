/**
 * Captured real messages (fixtures/mit-1.20.json, described in fixtures/README.md) and the
 * helpers to name, load and re-encode them. No side effects on import.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import {
  decodeKrbMessage,
  encodeApRep,
  encodeApReq,
  encodeAsRep,
  encodeAsReq,
  encodeKrbCred,
  encodeKrbError,
  encodeKrbPriv,
  encodeKrbSafe,
  encodeTgsRep,
  encodeTgsReq,
  findPaData,
  krbErrorName,
  type KrbMessage,
  PA_TYPE,
} from "../../src/kerberos/messages/index.js";
import { assertNever } from "../../src/errors.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The source tree's fixture file (tests run from dist/, fixtures stay in test/). */
export const FIXTURE_FILE = path.resolve(
  HERE,
  "../../../test/kerberos-codec/fixtures/mit-1.20.json",
);

export interface FixtureMessage {
  name: string;
  type: KrbMessage["type"];
  hex: string;
}

export function loadFixtures(): FixtureMessage[] {
  const json = JSON.parse(fs.readFileSync(FIXTURE_FILE, "utf8")) as { messages: FixtureMessage[] };
  return json.messages;
}

export function fixtureBytes(f: FixtureMessage): Uint8Array {
  return new Uint8Array(Buffer.from(f.hex, "hex"));
}

export function encodeMessage(m: KrbMessage): Uint8Array {
  switch (m.type) {
    case "AS-REQ":
      return encodeAsReq(m.value);
    case "TGS-REQ":
      return encodeTgsReq(m.value);
    case "AS-REP":
      return encodeAsRep(m.value);
    case "TGS-REP":
      return encodeTgsRep(m.value);
    case "AP-REQ":
      return encodeApReq(m.value);
    case "AP-REP":
      return encodeApRep(m.value);
    case "KRB-SAFE":
      return encodeKrbSafe(m.value);
    case "KRB-PRIV":
      return encodeKrbPriv(m.value);
    case "KRB-CRED":
      return encodeKrbCred(m.value);
    case "KRB-ERROR":
      return encodeKrbError(m.value);
    default:
      return assertNever(m, "message");
  }
}

/** decode then encode: DER is canonical, so real messages must come back byte for byte. */
export function reencode(bytes: Uint8Array): Uint8Array {
  return encodeMessage(decodeKrbMessage(bytes));
}

/** A fixture entry with a descriptive name (`as-req-pa-enc-timestamp`, `krb-error-...`). */
export function encodeFixture(bytes: Uint8Array): FixtureMessage {
  const m = decodeKrbMessage(bytes);
  let name = m.type.toLowerCase();
  if (m.type === "AS-REQ") {
    name += findPaData(m.value.padata, PA_TYPE.PA_ENC_TIMESTAMP)
      ? "-pa-enc-timestamp"
      : "-no-preauth";
  } else if (m.type === "KRB-ERROR") {
    name += `-${krbErrorName(m.value.errorCode).toLowerCase().replace(/_/g, "-")}`;
  }
  return { name, type: m.type, hex: Buffer.from(bytes).toString("hex") };
}
