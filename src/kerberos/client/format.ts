/**
 * Output shaped like MIT's klist (klist.c): the cache header, one block per ticket
 * ("Valid starting / Expires / Service principal", "renew until", with -e "Etype (skey,
 * tkt)"), and the keytab listing ("KVNO Principal"). Times are local, as MIT prints them.
 * `klistJson` is the --json form.
 */
import { enctypeName } from "../crypto/index.js";
import { type Ccache, type Credential, isCacheConfigEntry } from "../files/ccache.js";
import type { Keytab } from "../files/keytab.js";
import { decodeTicket } from "../messages/ticket.js";
import { TICKET_FLAGS } from "../messages/ticket-flags.js";
import { formatPrincipal } from "../principal.js";

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** `11/27/26 08:00:00` in local time (MIT 1.20's klist in the C locale, `%x %X`). */
export function formatKlistTime(sec: number): string {
  const d = new Date(sec * 1000);
  return `${pad(d.getMonth() + 1)}/${pad(d.getDate())}/${pad(d.getFullYear() % 100)} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function ticketInfo(c: Credential): { etype?: number; kvno?: number } {
  try {
    const t = decodeTicket(c.ticket);
    return t.encPart.kvno === undefined
      ? { etype: t.encPart.etype }
      : { etype: t.encPart.etype, kvno: t.encPart.kvno };
  } catch {
    return {};
  }
}

const FLAG_LETTERS: [number, string][] = [
  [TICKET_FLAGS.forwardable, "F"],
  [TICKET_FLAGS.forwarded, "f"],
  [TICKET_FLAGS.proxiable, "P"],
  [TICKET_FLAGS.proxy, "p"],
  [TICKET_FLAGS.mayPostdate, "D"],
  [TICKET_FLAGS.postdated, "d"],
  [TICKET_FLAGS.renewable, "R"],
  [TICKET_FLAGS.initial, "I"],
  [TICKET_FLAGS.invalid, "i"],
  [TICKET_FLAGS.hwAuthent, "H"],
  [TICKET_FLAGS.preAuthent, "A"],
  [TICKET_FLAGS.transitedPolicyChecked, "T"],
  [TICKET_FLAGS.okAsDelegate, "O"],
  [TICKET_FLAGS.anonymous, "a"],
];

/** MIT's klist -f letters (F forwardable, R renewable, I initial, A pre-authenticated, ...). */
export function ticketFlagLetters(flags: number): string {
  return FLAG_LETTERS.filter(([bit]) => (flags & bit) !== 0)
    .map(([, l]) => l)
    .join("");
}

export function formatKlist(
  cacheName: string,
  cc: Ccache,
  opts: { etypes: boolean; flags?: boolean },
): string {
  const lines = [
    `Ticket cache: ${cacheName}`,
    `Default principal: ${formatPrincipal(cc.defaultPrincipal)}`,
    "",
    "Valid starting     Expires            Service principal",
  ];
  for (const c of cc.credentials) {
    if (isCacheConfigEntry(c)) continue;
    const start = c.starttime || c.authtime;
    lines.push(
      `${formatKlistTime(start)}  ${formatKlistTime(c.endtime)}  ${formatPrincipal(c.server)}`,
    );
    // As klist.c: the extra facts share one tab-indented line, separated by ", ".
    const extra: string[] = [];
    if (c.renewTill) extra.push(`renew until ${formatKlistTime(c.renewTill)}`);
    if (opts.flags) extra.push(`Flags: ${ticketFlagLetters(c.ticketFlags)}`);
    if (opts.etypes) {
      const t = ticketInfo(c);
      const tkt = t.etype === undefined ? "?" : enctypeName(t.etype);
      extra.push(`Etype (skey, tkt): ${enctypeName(c.key.keytype)}, ${tkt} `);
    }
    if (extra.length > 0) lines.push(`\t${extra.join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}

export function klistJson(cacheName: string, cc: Ccache): unknown {
  const iso = (s: number) => (s ? new Date(s * 1000).toISOString() : null);
  return {
    cache: cacheName,
    defaultPrincipal: formatPrincipal(cc.defaultPrincipal),
    timeOffsetSeconds: cc.timeOffset?.seconds ?? 0,
    credentials: cc.credentials
      .filter((c) => !isCacheConfigEntry(c))
      .map((c) => {
        const t = ticketInfo(c);
        return {
          client: formatPrincipal(c.client),
          server: formatPrincipal(c.server),
          authtime: iso(c.authtime),
          starttime: iso(c.starttime || c.authtime),
          endtime: iso(c.endtime),
          renewTill: iso(c.renewTill),
          flags: ticketFlagLetters(c.ticketFlags),
          sessionKeyEtype: enctypeName(c.key.keytype),
          ticketEtype: t.etype === undefined ? null : enctypeName(t.etype),
          kvno: t.kvno ?? null,
        };
      }),
  };
}

export function formatKeytab(
  name: string,
  kt: Keytab,
  opts: { etypes: boolean; timestamps?: boolean },
): string {
  const lines = [`Keytab name: ${name}`];
  lines.push(opts.timestamps ? "KVNO Timestamp           Principal" : "KVNO Principal");
  lines.push(
    opts.timestamps
      ? "---- ------------------- ------------------------------------------------------"
      : "---- --------------------------------------------------------------------------",
  );
  for (const e of kt.entries) {
    const ts = opts.timestamps ? `${formatKlistTime(e.timestamp)} ` : "";
    const et = opts.etypes ? ` (${enctypeName(e.key.keytype)}) ` : "";
    lines.push(`${String(e.kvno).padStart(4)} ${ts}${formatPrincipal(e.principal)}${et}`);
  }
  return `${lines.join("\n")}\n`;
}

export function keytabJson(name: string, kt: Keytab): unknown {
  return {
    keytab: name,
    entries: kt.entries.map((e) => ({
      principal: formatPrincipal(e.principal),
      kvno: e.kvno,
      enctype: enctypeName(e.key.keytype),
      timestamp: new Date(e.timestamp * 1000).toISOString(),
    })),
  };
}
