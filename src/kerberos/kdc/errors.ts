/**
 * KdcError: a refusal the KDC answers with a KRB-ERROR (RFC 4120 §5.9.1). The code is the
 * RFC 4120 §7.5.9 name; `eData` carries METHOD-DATA (PREAUTH_REQUIRED) when needed.
 */
import { PosternError } from "../../errors.js";
import { KRB_ERROR_CODE, type KrbErrorName } from "../messages/index.js";

export class KdcError extends PosternError {
  readonly krbError: KrbErrorName;
  readonly errorCode: number;
  readonly eData: Uint8Array | undefined;
  constructor(code: KrbErrorName, message: string, eData?: Uint8Array) {
    super(code, message, 1);
    this.name = "KdcError";
    this.krbError = code;
    this.errorCode = KRB_ERROR_CODE[code];
    this.eData = eData;
  }
}

export function kdcError(code: KrbErrorName, message: string, eData?: Uint8Array): KdcError {
  return new KdcError(code, message, eData);
}
