/**
 * Key usage numbers (RFC 4120 §7.5.1), fed to the RFC 3961 key derivation so that each
 * place a key is used gets its own derived key. Names say where the usage applies.
 *
 * ```
 *  1. AS-REQ PA-ENC-TIMESTAMP padata timestamp, encrypted with the client key
 *  2. AS-REP Ticket and TGS-REP Ticket, encrypted with the service key
 *  3. AS-REP encrypted part, encrypted with the client key
 *  4. TGS-REQ KDC-REQ-BODY AuthorizationData, encrypted with the TGS session key
 *  5. TGS-REQ KDC-REQ-BODY AuthorizationData, encrypted with the TGS authenticator subkey
 *  6. TGS-REQ PA-TGS-REQ padata AP-REQ Authenticator cksum, keyed with the TGS session key
 *  7. TGS-REQ PA-TGS-REQ padata AP-REQ Authenticator, encrypted with the TGS session key
 *  8. TGS-REP encrypted part, encrypted with the TGS session key
 *  9. TGS-REP encrypted part, encrypted with the TGS authenticator subkey
 * 10. AP-REQ Authenticator cksum, keyed with the application session key
 * 11. AP-REQ Authenticator, encrypted with the application session key
 * 12. AP-REP encrypted part, encrypted with the application session key
 * 13. KRB-PRIV encrypted part, encrypted with a key chosen by the application
 * 14. KRB-CRED encrypted part, encrypted with a key chosen by the application
 * 15. KRB-SAFE cksum, keyed with a key chosen by the application
 * 19. AD-KDC-ISSUED checksum
 * 22-25. Reserved for use in GSSAPI mechanisms derived from RFC 1964 (RFC 4121 uses them)
 * ```
 * 17 is what MS-SFU's PA-FOR-USER checksum and MS-PAC's signatures use with keyed checksums.
 */
export const KEY_USAGE = {
  AS_REQ_PA_ENC_TIMESTAMP: 1,
  KDC_REP_TICKET: 2,
  AS_REP_ENC_PART: 3,
  TGS_REQ_AD_SESSION_KEY: 4,
  TGS_REQ_AD_SUBKEY: 5,
  TGS_REQ_AUTH_CKSUM: 6,
  TGS_REQ_AUTH: 7,
  TGS_REP_ENC_PART_SESSION_KEY: 8,
  TGS_REP_ENC_PART_SUBKEY: 9,
  AP_REQ_AUTH_CKSUM: 10,
  AP_REQ_AUTH: 11,
  AP_REP_ENC_PART: 12,
  KRB_PRIV_ENC_PART: 13,
  KRB_CRED_ENC_PART: 14,
  KRB_SAFE_CKSUM: 15,
  PA_FOR_USER_CKSUM: 17,
  PAC_SIGNATURE: 17,
  AD_KDC_ISSUED_CKSUM: 19,
  GSS_ACCEPTOR_SEAL: 22,
  GSS_ACCEPTOR_SIGN: 23,
  GSS_INITIATOR_SEAL: 24,
  GSS_INITIATOR_SIGN: 25,
} as const;
