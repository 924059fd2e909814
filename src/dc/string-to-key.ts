/**
 * The KeyDeriver the directory uses: RFC 3961 string-to-key of the Kerberos library
 * (src/kerberos/crypto: RFC 3962 PBKDF2-HMAC-SHA1 for 17/18, RFC 8009 PBKDF2-HMAC-SHA2 for
 * 19/20, default iteration counts), one key per enctype asked for.
 */
import { getEnctype } from "../kerberos/crypto/index.js";
import type { KeyDeriver } from "./keys.js";

export const kerberosKeyDeriver: KeyDeriver = {
  deriveKeys(password, salt, etypes) {
    return etypes.map((etype) => ({ etype, key: getEnctype(etype).stringToKey(password, salt) }));
  },
};
