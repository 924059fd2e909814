/**
 * The Directory of directory.ts over postern's LDAP client (src/ldap/: SASL GSSAPI with a
 * sealed layer): the IP Security container and GPOs of a real Active Directory.
 */
import type { LdapConnection } from "../ldap/client.js";
import type { Directory } from "./directory.js";

export function ldapDirectory(conn: LdapConnection): Directory {
  return {
    search: (req) => conn.search(req),
    add: (dn, attributes) => conn.add(dn, Object.fromEntries(attributes)),
    modify: (dn, changes) =>
      conn.modify(
        dn,
        changes.map((c) => ({ op: c.operation, type: c.type, values: c.values })),
      ),
    delete: (dn) => conn.delete(dn),
  };
}
