/**
 * Key usage numbers (RFC 4120 §7.5.1, RFC 4121 §2, MS-KILE §3.1.5.9). Each use of a key
 * derives its own Ke/Ki/Kc from one of these, so a ciphertext made for one purpose never
 * decrypts as another.
 */
export const KeyUsage = {
  /** AS-REQ PA-ENC-TIMESTAMP padata timestamp, encrypted with the client key. */
  AS_REQ_PA_ENC_TIMESTAMP: 1,
  /** AS-REP / TGS-REP Ticket (EncTicketPart), encrypted with the service key. */
  KDC_REP_TICKET: 2,
  /** AS-REP encrypted part (EncASRepPart), encrypted with the client key. */
  AS_REP_ENC_PART: 3,
  /** TGS-REQ KDC-REQ-BODY AuthorizationData, encrypted with the TGS session key. */
  TGS_REQ_AD_SESSION_KEY: 4,
  /** TGS-REQ KDC-REQ-BODY AuthorizationData, encrypted with the TGS authenticator subkey. */
  TGS_REQ_AD_SUBKEY: 5,
  /** TGS-REQ PA-TGS-REQ padata AP-REQ Authenticator cksum, keyed with the session key. */
  TGS_REQ_AUTH_CKSUM: 6,
  /** TGS-REQ PA-TGS-REQ padata AP-REQ Authenticator, encrypted with the TGS session key. */
  TGS_REQ_AUTH: 7,
  /** TGS-REP encrypted part, encrypted with the TGS session key. */
  TGS_REP_ENC_PART_SESSION_KEY: 8,
  /** TGS-REP encrypted part, encrypted with the TGS authenticator subkey. */
  TGS_REP_ENC_PART_SUBKEY: 9,
  /** AP-REQ Authenticator cksum, keyed with the application session key. */
  AP_REQ_AUTH_CKSUM: 10,
  /** AP-REQ Authenticator, encrypted with the application session key. */
  AP_REQ_AUTH: 11,
  /** AP-REP encrypted part (EncAPRepPart), encrypted with the application session key. */
  AP_REP_ENC_PART: 12,
  /** KRB-PRIV encrypted part. */
  KRB_PRIV_ENC_PART: 13,
  /** KRB-CRED encrypted part. */
  KRB_CRED_ENC_PART: 14,
  /** KRB-SAFE cksum. */
  KRB_SAFE_CKSUM: 15,
  /** MS-KILE KERB_NON_KERB_CKSUM_SALT: PAC server, KDC and ticket signatures. */
  KERB_NON_KERB_CKSUM_SALT: 17,
  /** AD-KDCIssued checksum (RFC 4120 §5.2.6.2). */
  AD_KDC_ISSUED_CKSUM: 19,
  /** GSS-API (RFC 4121) acceptor seal / sign, initiator seal / sign. */
  GSS_ACCEPTOR_SEAL: 22,
  GSS_ACCEPTOR_SIGN: 23,
  GSS_INITIATOR_SEAL: 24,
  GSS_INITIATOR_SIGN: 25,
  /** RFC 6113 §5.4: FAST req-checksum, enc-fast-req, enc-fast-rep, finished (armor key). */
  FAST_REQ_CHKSUM: 50,
  FAST_ENC: 51,
  FAST_REP: 52,
  FAST_FINISHED: 53,
  /** RFC 6113 §5.4.6 PA-ENCRYPTED-CHALLENGE, client's and KDC's. */
  ENC_CHALLENGE_CLIENT: 54,
  ENC_CHALLENGE_KDC: 55,
  /** RFC 6806 §11 PA-REQ-ENC-PA-REP: checksum of the AS-REQ with the reply key. */
  AS_REQ: 56,
} as const;

export type KeyUsageName = keyof typeof KeyUsage;
