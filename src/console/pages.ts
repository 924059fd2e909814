/**
 * The console's pages, rendered on the server from what sources.ts read: pure functions
 * of their data, every value escaped (html.ts). No script: the IP Security Monitor
 * refreshes itself with a meta refresh; forms POST with the session's CSRF token.
 */
import type { Trace } from "../explain/trace.js";
import { allOpenings } from "../firewall/model.js";
import { type Html, html, raw, table } from "./html.js";
import { linePlot, short } from "./plot.js";
import type { Rate } from "./samples.js";
import type { DirectoryData, FirewallData, MonitorData, Read, WhyForm } from "./sources.js";

export const PAGES = [
  { path: "/monitor", title: "IP Security Monitor" },
  { path: "/firewall", title: "Windows Firewall" },
  { path: "/directory", title: "Directory" },
  { path: "/why", title: "Why?" },
] as const;

export const MONITOR_REFRESH_SEC = 5;

const STYLE = `body{font:13px system-ui,sans-serif;margin:0;color:#222}
header{background:#1f3b63;color:#fff;padding:6px 12px;display:flex;gap:14px;align-items:center}
header a{color:#fff;text-decoration:none}header a.on{font-weight:bold;text-decoration:underline}
header form{margin-left:auto}header .who{margin-left:auto;opacity:.8}
main{padding:8px 14px}h2{font-size:15px;margin:14px 0 6px}
table{border-collapse:collapse;margin-bottom:8px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#eef}.empty{color:#777}.err{color:#a00}.ok{color:#070}.plots{display:flex;gap:16px}
ul.tree{margin:0;padding-left:16px}form.why label{display:inline-block;margin-right:8px}
.verdict-allowed{color:#070;font-weight:bold}.verdict-blocked{color:#a00;font-weight:bold}`;

export interface Frame {
  title: string;
  /** The session's user and CSRF token; null on the login page. */
  user: { name: string; csrf: string } | null;
  refreshSec?: number;
}

export function layout(f: Frame, body: Html): Html {
  const nav = f.user
    ? html`${PAGES.map(
        (p) => html`<a href="${p.path}" class="${p.title === f.title ? "on" : ""}">${p.title}</a>`,
      )}<span class="who">${f.user.name}</span><form method="post" action="/logout"><input type="hidden" name="csrf" value="${f.user.csrf}"><button type="submit">Log out</button></form>`
    : html``;
  const refresh = f.refreshSec ? html`<meta http-equiv="refresh" content="${f.refreshSec}">` : "";
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8">${refresh}<title>${f.title} - postern</title><style>${raw(STYLE)}</style></head><body><header><b>postern</b>${nav}</header><main><h1>${f.title}</h1>${body}</main></body></html>`;
}

export function loginPage(loginToken: string, message: string | null): Html {
  return layout(
    { title: "Log in", user: null },
    html`${message ? html`<p class="err">${message}</p>` : ""}
<p>A domain administrator's name and password (checked by the domain's KDC).</p>
<form method="post" action="/login"><input type="hidden" name="login" value="${loginToken}">
<label>User <input name="user" value="Administrator" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Log in</button></form>`,
  );
}

const failure = (r: { ok: false; why: string }) => html`<p class="err">${r.why}</p>`;

const age = (sec: number | null) => (sec === null ? "-" : `${Math.round(sec)} s`);

/** Non-zero counters of a reason -> count map, as "reason n" rows. */
function counts(r: Record<string, number> | undefined): [string, number][] {
  return Object.entries(r ?? {}).filter(([, n]) => n > 0);
}

export function monitorPage(
  frame: Frame,
  d: Read<MonitorData>,
  rates: readonly Rate[],
  now: number,
): Html {
  const windowMs = 10 * 60_000;
  const plots = html`<div class="plots">${linePlot({
    title: "Throughput (ESP/AH payload)",
    unit: "B/s",
    now,
    windowMs,
    series: [
      { name: "in", color: "#1565c0", points: rates.map((r) => ({ t: r.t, v: r.inBps })) },
      { name: "out", color: "#2e7d32", points: rates.map((r) => ({ t: r.t, v: r.outBps })) },
    ],
  })}${linePlot({
    title: "Drops",
    unit: "/s",
    now,
    windowMs,
    series: [
      { name: "drops", color: "#c62828", points: rates.map((r) => ({ t: r.t, v: r.dropsPerSec })) },
    ],
  })}</div>`;
  if (!d.ok) return layout(frame, html`${plots}${failure(d)}`);
  const { mm, qm, stats } = d.value;
  const drops = [
    ...counts(stats.drops.inbound).map(([r, n]) => ["data path, inbound", r, n]),
    ...counts(stats.drops.outbound).map(([r, n]) => ["data path, outbound", r, n]),
    ...counts(stats.ike?.drops).map(([r, n]) => ["IKE", r, n]),
  ];
  return layout(
    frame,
    html`${plots}
<h2>Main mode (IKE) SAs</h2>${table(
      [
        "Peer",
        "Principal",
        "Authentication",
        "Encryption",
        "Integrity",
        "PRF",
        "DH",
        "State",
        "Lifetime",
        "Age",
        "Quick mode SAs",
        "Peer refused us",
      ],
      mm.map((s) => [
        s.peerId && s.peerId !== s.remote ? `${s.remote} (${s.peerId})` : s.remote,
        s.identity?.principal ?? "-",
        s.auth,
        s.encryption ?? "-",
        s.integrity ?? "-",
        s.prf ?? "-",
        s.dh ?? "-",
        `${s.state}${s.initiator ? ", we started it" : ""}`,
        `${s.lifetimeSec} s`,
        age(s.ageSec),
        s.childSas,
        s.refusal ? `${s.refusal.reason}${s.refusal.group ? ` (${s.refusal.group})` : ""}` : "-",
      ]),
    )}
<h2>Quick mode SAs</h2>${table(
      [
        "Peer",
        "Filter",
        "Protocol",
        "Transform",
        "Selectors (local / remote)",
        "SPI in / out",
        "Bytes in / out",
        "Packets in / out",
        "Lifetime",
        "Age",
      ],
      qm.map((s) => [
        s.remote,
        s.peer,
        `${s.protocol.toUpperCase()} ${s.mode}${s.udpEncap ? " in UDP" : ""}`,
        s.transform,
        `${s.localSelectors.join(", ")} / ${s.remoteSelectors.join(", ")}`,
        `${s.spiIn} / ${s.spiOut}`,
        `${short(s.bytesIn)}B / ${short(s.bytesOut)}B`,
        `${s.packetsIn} / ${s.packetsOut}`,
        `${s.lifetimeSec} s, ${s.lifetimeKb} KB`,
        age(s.ageSec),
      ]),
    )}
<h2>Drops by reason</h2>${table(["Where", "Reason", "Packets"], drops)}
<h2>Bypass decisions since the agent started</h2>${table(["Decision", "Count"], counts(stats.bypass))}
<p class="empty">As of ${stats.time}; this page reloads every ${MONITOR_REFRESH_SEC} s.</p>`,
  );
}

export function firewallPage(frame: Frame, d: Read<FirewallData>): Html {
  if (!d.ok) return layout(frame, failure(d));
  const { settings, peers, identified, logged } = d.value;
  const profile = settings ? settings.profiles[settings.currentProfile] : null;
  const state =
    settings && profile
      ? html`<p>Profile <b>${settings.currentProfile}</b>: operational mode <b>${profile.enabled ? "ON" : "OFF"}</b>, exceptions <b>${profile.exceptions ? "allowed" : 'not allowed ("Don\'t allow exceptions")'}</b>; dropped packets ${settings.logging.droppedPackets ? "logged" : "not logged"}.</p>
<h2>Exceptions</h2>${table(
          ["Name", "Protocol", "Port", "Enabled", "Scope"],
          allOpenings(profile).map((o) => [
            o.name,
            o.protocol.toUpperCase(),
            o.port,
            o.enabled ? "yes" : "no",
            o.scope === "custom" ? o.addresses.join(", ") : o.scope,
          ]),
        )}
<h2>Authenticated IPsec bypass list</h2>${table(
          ["Name", "SID"],
          settings.bypass.map((b) => [b.name ?? "-", b.sid]),
        )}`
      : html`<p class="empty">No firewall settings on this host (postern firewall is not configured).</p>`;
  const live = peers.ok
    ? table(
        ["Peer", "Principal", "Admitted", "Why", "SA", "Since"],
        peers.value.map((p) => [
          p.address,
          p.principal ?? "-",
          p.authorizedBy ? `yes, by ${p.authorizedBy}` : "no",
          p.why,
          p.spis,
          p.since,
        ]),
      )
    : failure(peers);
  return layout(
    frame,
    html`${state}
<h2>Live bypass decisions (one per IKE SA)</h2>${live}
<h2>Recent drops, with the peer's identity</h2>${table(
      ["Time", "Protocol", "From", "To", "Principal", "Lacks", "Why"],
      identified.map((l) => [
        l.time,
        l.protocol,
        `${l.src}${l.sport !== null ? `:${l.sport}` : ""}`,
        `${l.dst}${l.dport !== null ? `:${l.dport}` : ""}`,
        l.principal ?? "-",
        l.lacks.join(", "),
        l.why,
      ]),
    )}
<h2>Recent drops in pfirewall.log (every drop, named or not)</h2>${
      logged.length === 0 ? html`<p class="empty">none</p>` : html`<pre>${logged.join("\n")}</pre>`
    }`,
  );
}

/** A group's members, nested groups opened (bounded, each group once per branch). */
function memberTree(
  name: string,
  lists: ReadonlyMap<string, DirectoryData["groups"][number]["list"]>,
  seen: ReadonlySet<string>,
): Html {
  const list = lists.get(name) ?? [];
  if (list.length === 0) return html``;
  return html`<ul class="tree">${list.map((m) => {
    const nested = m.kind === "group" && !seen.has(m.name) && seen.size < 8;
    return html`<li>${m.name} <span class="empty">(${m.kind}${m.primary ? ", primary group" : ""})</span>${
      nested ? memberTree(m.name, lists, new Set([...seen, m.name])) : ""
    }</li>`;
  })}</ul>`;
}

export function directoryPage(frame: Frame, d: Read<DirectoryData> | null): Html {
  if (d === null)
    return layout(
      frame,
      html`<p class="empty">No domain controller on this host (give --dc-home on a DC).</p>`,
    );
  if (!d.ok) return layout(frame, failure(d));
  const { computers, groups, gpos } = d.value;
  const lists = new Map(groups.map((g) => [g.name, g.list]));
  return layout(
    frame,
    html`<h2>Computers, and what each effectively gets</h2>${table(
      [
        "Computer",
        "DNS name",
        "Enabled",
        "Groups (nested, from its PAC)",
        "GPOs applied",
        "IPsec policy",
        "Firewall from",
      ],
      computers.map((c) => [
        c.sam,
        c.dnsHostName,
        c.enabled ? "yes" : "no",
        c.groups.map((g) => g.name).join(", "),
        c.policy ? c.policy.applied.map((a) => `${a.name} (via ${a.via})`).join(", ") || "-" : "-",
        c.policy?.ipsecFrom ?? "-",
        c.policy?.firewallFrom ?? "-",
      ]),
    )}
<h2>Groups and their members</h2>${table(
      ["Group", "Scope", "SID", "Members (nested groups opened)"],
      groups.map((g) => [g.name, g.scope, g.sid, memberTree(g.name, lists, new Set([g.name]))]),
    )}
<h2>Group Policy objects and their links</h2>${table(
      ["GPO", "Version", "Linked to", "IPsec policy assigned", "Firewall settings"],
      gpos.map((g) => [
        g.name,
        g.version,
        g.links.join(", ") || "-",
        g.assigned ?? "-",
        g.firewall ? "yes" : "-",
      ]),
    )}`,
  );
}

export function whyPage(
  frame: Frame & { user: { name: string; csrf: string } },
  form: WhyForm,
  result: Read<Trace> | null,
): Html {
  const field = (k: keyof WhyForm, label: string, size: number) =>
    html`<label>${label} <input name="${k}" value="${form[k]}" size="${size}"></label>`;
  let answer = html``;
  if (result && !result.ok) answer = failure(result);
  else if (result?.ok) {
    const t = result.value;
    answer = html`<h2>Trace: ${t.direction}, peer ${t.peer.name ?? t.peer.address}</h2>${table(
      ["#", "Step", "Verdict", "Source", "Detail"],
      t.steps.map((s, i) => [i + 1, s.step, s.verdict, s.source, s.detail]),
    )}<p>Verdict: <span class="verdict-${t.verdict}">${t.verdict.toUpperCase()}</span> (decided by ${t.decidedBy})</p>${
      t.flip
        ? html`<p>To flip: ${t.flip.change}</p><ul>${t.flip.commands.map((c) => html`<li>on ${c.host}: <code>${c.command}</code></li>`)}</ul>`
        : ""
    }`;
  }
  return layout(
    frame,
    html`<p>One flow through policy, SA, PAC groups, bypass, guard and firewall, as <code>postern explain</code> answers it on this host.</p>
<form method="post" action="/why" class="why"><input type="hidden" name="csrf" value="${frame.user.csrf}">
${field("src", "Source", 16)}${field("dst", "Destination", 16)}${field("proto", "Protocol", 5)}${field("sport", "Source port", 6)}${field("dport", "Destination port", 6)}
<button type="submit">Explain</button></form>${answer}`,
  );
}
