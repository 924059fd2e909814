/**
 * Who may use the console: a domain administrator, proved by the domain's KDC.
 *
 * 1. an AS exchange for NAME@REALM with the typed password (pre-authenticated: a wrong
 *    password is the KDC's PREAUTH_FAILED, and the AS-REP opens only with the right key);
 * 2. a TGS exchange for this machine's own host/<fqdn> ticket, and that ticket accepted
 *    with the machine's keytab (acceptApReq, the PAC's server signature checked): a KDC
 *    spoofed on the path could answer step 1 for any password, but cannot make a ticket
 *    in a key only the real KDC and this machine hold (pam_krb5's "validate");
 * 3. the PAC must say Domain Admins (RID 512) or the Administrator account (RID 500).
 * The reason a login failed goes to the console's log; the browser sees one sentence
 * that does not tell a wrong name from a wrong password.
 */
import { randomBytes } from "../crypto/primitives.js";
import { acceptApReq, createReplayCache } from "../kerberos/acceptor/index.js";
import { buildApReq } from "../kerberos/client/index.js";
import { KdcError } from "../kerberos/client/errors.js";
import { readKeytabFile } from "../kerberos/files/keytab.js";
import { decodeTicket } from "../kerberos/messages/index.js";
import { formatPrincipal } from "../kerberos/principal.js";
import {
  keytabWriter,
  type MachineIdentity,
  machineKeytabPath,
  machinePrincipal,
} from "../member/machine-keys.js";
import { machineClient } from "../member/machine-tgt.js";

export type LoginResult = { ok: true; principal: string } | { ok: false; why: string; log: string };

export type PasswordCheck = (user: string, password: string) => Promise<LoginResult>;

export const BAD_LOGIN = "wrong user name or password, or not a domain administrator";

/** KDC errors that mean "this name and password do not log in" (6, 18, 24). */
const CREDENTIAL_ERRORS = new Set([6, 18, 24]);

/** "Administrator", "BIGFIRM\Administrator" or "Administrator@BIGFIRM.COM" -> the name, or null. */
export function userName(
  text: string,
  id: Pick<MachineIdentity, "realm" | "domain">,
): string | null {
  let name = text.trim();
  const slash = name.indexOf("\\");
  if (slash >= 0) {
    const dom = name.slice(0, slash).toUpperCase();
    if (dom !== (id.domain.split(".")[0] ?? "").toUpperCase() && dom !== id.realm) return null;
    name = name.slice(slash + 1);
  }
  const at = name.lastIndexOf("@");
  if (at >= 0) {
    if (name.slice(at + 1).toUpperCase() !== id.realm) return null;
    name = name.slice(0, at);
  }
  return /^[A-Za-z0-9][A-Za-z0-9._ -]{0,63}$/.test(name) ? name : null;
}

/** This host's own service principal: host/<fqdn>, as its keytab holds it. */
function ownService(id: MachineIdentity): string {
  return (
    id.principals.find((p) => p.startsWith("host/") && p.includes(".")) ??
    `host/${id.dnsHostName.toLowerCase()}`
  );
}

/** The password check of a domain member whose home is `home`. */
export function memberPasswordCheck(home: string): PasswordCheck {
  return async (user, password) => {
    const id = keytabWriter.read(home);
    if (!id)
      return {
        ok: false,
        why: "this host is not a domain member",
        log: `no machine.json in ${home}`,
      };
    const name = userName(user, id);
    if (!name || password === "" || password.length > 256)
      return {
        ok: false,
        why: BAD_LOGIN,
        log: `login refused: malformed user ${JSON.stringify(user.slice(0, 80))}`,
      };
    const client = machinePrincipal(name, id.realm);
    const who = formatPrincipal(client);
    const kerberos = machineClient(id);
    try {
      const { tgt } = await kerberos.login({ client, keys: { kind: "password", password } });
      const service = machinePrincipal(ownService(id), id.realm);
      const ticket = await kerberos.getServiceTicket(tgt, service);
      const ap = buildApReq({
        ticket: decodeTicket(ticket.ticket),
        sessionKey: { keytype: ticket.key.keytype, keyvalue: ticket.key.keyvalue },
        client,
        nowMs: Date.now() + kerberos.timeOffsetMs,
        randomBytes,
      });
      const ctx = acceptApReq(
        {
          keytab: readKeytabFile(`FILE:${machineKeytabPath(home)}`),
          now: () => Date.now() + kerberos.timeOffsetMs,
          replayCache: createReplayCache({ now: Date.now, maxEntries: 16 }),
          service,
        },
        ap.bytes,
      );
      const pac = ctx.pac?.identity;
      if (!pac)
        return { ok: false, why: BAD_LOGIN, log: `login refused: ${who}'s ticket has no PAC` };
      const admin =
        pac.userSid === `${pac.domainSid}-500` || pac.groupSids.includes(`${pac.domainSid}-512`);
      if (!admin)
        return { ok: false, why: BAD_LOGIN, log: `login refused: ${who} is not in Domain Admins` };
      return { ok: true, principal: who };
    } catch (e) {
      if (e instanceof KdcError && CREDENTIAL_ERRORS.has(e.errorCode))
        return { ok: false, why: BAD_LOGIN, log: `login refused: ${e.message}` };
      return {
        ok: false,
        why: "the domain's KDC could not check the password (see the console's log)",
        log: `login failed: ${(e as Error).message}`,
      };
    }
  };
}
