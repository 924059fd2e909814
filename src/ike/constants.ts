/**
 * Numbers from the IANA "Internet Key Exchange Version 2 (IKEv2) Parameters" registry
 * (RFC 7296 §3 and its updates). Spec constants only; implementation choices live with
 * the code that makes them.
 */

/** RFC 7296 §3.1 Exchange Type. */
export const ExchangeType = {
  IKE_SA_INIT: 34,
  IKE_AUTH: 35,
  CREATE_CHILD_SA: 36,
  INFORMATIONAL: 37,
} as const;

/** RFC 7296 §3.1 flags. */
export const HeaderFlag = { INITIATOR: 0x08, VERSION: 0x10, RESPONSE: 0x20 } as const;

/** RFC 7296 §3.2 Next Payload types. */
export const PayloadType = {
  NONE: 0,
  SA: 33,
  KE: 34,
  IDi: 35,
  IDr: 36,
  CERT: 37,
  CERTREQ: 38,
  AUTH: 39,
  NONCE: 40,
  N: 41,
  D: 42,
  V: 43,
  TSi: 44,
  TSr: 45,
  SK: 46,
  CP: 47,
  EAP: 48,
  SKF: 53,
} as const;

/** RFC 7296 §3.3.1 Protocol ID (SA, Notify, Delete payloads). */
export const ProtocolId = { IKE: 1, AH: 2, ESP: 3 } as const;

/** RFC 7296 §3.3.2 Transform Type. */
export const TransformType = { ENCR: 1, PRF: 2, INTEG: 3, DH: 4, ESN: 5 } as const;

/** RFC 7296 §3.3.2 Transform Type 1 (Encryption Algorithm) ids we know by name. */
export const EncrId = {
  DES: 2,
  "3DES": 3,
  NULL: 11,
  AES_CBC: 12,
  AES_CTR: 13,
  AES_GCM_16: 20,
} as const;
/** RFC 7296 §3.3.2 Transform Type 2 (PRF). */
export const PrfId = {
  HMAC_MD5: 1,
  HMAC_SHA1: 2,
  HMAC_SHA2_256: 5,
  HMAC_SHA2_384: 6,
  HMAC_SHA2_512: 7,
} as const;
/** RFC 7296 §3.3.2 Transform Type 3 (Integrity). */
export const IntegId = {
  NONE: 0,
  HMAC_MD5_96: 1,
  HMAC_SHA1_96: 2,
  HMAC_SHA2_256_128: 12,
  HMAC_SHA2_384_192: 13,
  HMAC_SHA2_512_256: 14,
} as const;
/** RFC 7296 §3.3.2 Transform Type 4 (Diffie-Hellman group); RFC 5903, RFC 8031. */
export const DhId = {
  NONE: 0,
  MODP768: 1,
  MODP1024: 2,
  MODP2048: 14,
  ECP256: 19,
  CURVE25519: 31,
} as const;
/** RFC 7296 §3.3.2 Transform Type 5 (Extended Sequence Numbers). */
export const EsnId = { NO: 0, YES: 1 } as const;
/** RFC 7296 §3.3.5 Attribute Type: Key Length (TV format). */
export const ATTR_KEY_LENGTH = 14;

/** RFC 7296 §3.5 ID Type. */
export const IdType = {
  IPV4_ADDR: 1,
  FQDN: 2,
  RFC822_ADDR: 3,
  IPV6_ADDR: 5,
  DER_ASN1_DN: 9,
  DER_ASN1_GN: 10,
  KEY_ID: 11,
} as const;

/** RFC 7296 §3.8 Auth Method; RFC 7427 digital signature. */
export const AuthMethodId = {
  RSA_SIG: 1,
  SHARED_KEY_MIC: 2,
  DSS_SIG: 3,
  ECDSA_256: 9,
  ECDSA_384: 10,
  ECDSA_521: 11,
  DIGITAL_SIGNATURE: 14,
} as const;

/** RFC 7296 §3.6 Certificate Encoding. */
export const CertEncoding = { X509_SIGNATURE: 4, HASH_URL_X509: 12 } as const;

/** RFC 7296 §3.13.1 Traffic Selector Type. */
export const TsType = { IPV4_ADDR_RANGE: 7, IPV6_ADDR_RANGE: 8 } as const;

/**
 * RFC 7296 §3.10.1 Notify Message Types. Below 16384: errors; from 16384: status.
 * The name is what logs print.
 */
export const NotifyType = {
  UNSUPPORTED_CRITICAL_PAYLOAD: 1,
  INVALID_IKE_SPI: 4,
  INVALID_MAJOR_VERSION: 5,
  INVALID_SYNTAX: 7,
  INVALID_MESSAGE_ID: 9,
  INVALID_SPI: 11,
  NO_PROPOSAL_CHOSEN: 14,
  INVALID_KE_PAYLOAD: 17,
  AUTHENTICATION_FAILED: 24,
  SINGLE_PAIR_REQUIRED: 34,
  NO_ADDITIONAL_SAS: 35,
  INTERNAL_ADDRESS_FAILURE: 36,
  FAILED_CP_REQUIRED: 37,
  TS_UNACCEPTABLE: 38,
  INVALID_SELECTORS: 39,
  TEMPORARY_FAILURE: 43,
  CHILD_SA_NOT_FOUND: 44,
  INITIAL_CONTACT: 16384,
  SET_WINDOW_SIZE: 16385,
  ADDITIONAL_TS_POSSIBLE: 16386,
  IPCOMP_SUPPORTED: 16387,
  NAT_DETECTION_SOURCE_IP: 16388,
  NAT_DETECTION_DESTINATION_IP: 16389,
  COOKIE: 16390,
  USE_TRANSPORT_MODE: 16391,
  HTTP_CERT_LOOKUP_SUPPORTED: 16392,
  REKEY_SA: 16393,
  ESP_TFC_PADDING_NOT_SUPPORTED: 16394,
  NON_FIRST_FRAGMENTS_ALSO: 16395,
  MOBIKE_SUPPORTED: 16396,
  MULTIPLE_AUTH_SUPPORTED: 16404,
  REDIRECT_SUPPORTED: 16406,
  IKEV2_FRAGMENTATION_SUPPORTED: 16430,
  SIGNATURE_HASH_ALGORITHMS: 16431,
} as const;

/** First status notify type; anything below is an error (RFC 7296 §3.10.1). */
export const NOTIFY_STATUS_MIN = 16384;

/** Name of a notify type for logs, or its number. */
export function notifyName(type: number): string {
  for (const [name, value] of Object.entries(NotifyType)) if (value === type) return name;
  return `NOTIFY_${type}`;
}

/** Name of an exchange type for logs. */
export function exchangeName(type: number): string {
  for (const [name, value] of Object.entries(ExchangeType)) if (value === type) return name;
  return `EXCHANGE_${type}`;
}

/** IKE's fixed UDP ports (RFC 7296 §2, RFC 3948). */
export const IKE_PORT = 500;
export const IKE_NATT_PORT = 4500;
