/**
 * The console's pure parts: escaping, sessions, CSRF and origin checks, the login
 * throttle, the plots' rates and SVG, the pages rendered from hostile data.
 */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MmSaView, QmSaView, StatsReply } from "../../src/control/protocol.js";
import { isLoopback, parseListen } from "../../src/console/command.js";
import { userName } from "../../src/console/auth.js";
import { cli, tempHome } from "../helpers/cli.js";
import { esc, html, raw } from "../../src/console/html.js";
import { firewallPage, monitorPage, whyPage } from "../../src/console/pages.js";
import { linePlot, niceCeiling } from "../../src/console/plot.js";
import { rates, Ring, sampleOf } from "../../src/console/samples.js";
import {
  LoginThrottle,
  parseCookies,
  sameOrigin,
  sameToken,
  Sessions,
  setCookie,
} from "../../src/console/session.js";

/** Deterministic "randomness": 0, 1, 2, ... in every byte of each draw. */
function counter() {
  let n = 0;
  return (len: number) => new Uint8Array(len).fill(n++ % 256);
}

const SCRIPT = "<script>alert(1)</script>";

describe("console: escaping", () => {
  it("esc escapes the five characters of HTML", () => {
    assert.equal(
      esc(`<a href="x" title='y'>&</a>`),
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
    );
  });
  it("html escapes every value, nested lists too, but keeps Html and raw as they are", () => {
    const inner = html`<b>${SCRIPT}</b>`;
    const out =
      html`<p>${SCRIPT}${[SCRIPT, inner]}${raw("<i>ok</i>")}${null}${undefined}${false}</p>`.text;
    assert.doesNotMatch(out, /<script>/);
    assert.equal(out.split("&lt;script&gt;").length - 1, 3);
    assert.match(out, /<b>&lt;script&gt;/);
    assert.match(out, /<i>ok<\/i><\/p>$/);
  });
});

const mm = (principal: string): MmSaView => ({
  spis: "0x1_0x2",
  cookies: { initiator: "1", responder: "2" },
  local: "198.18.0.20",
  remote: "198.18.0.30",
  remotePort: 500,
  natT: false,
  state: "established",
  initiator: false,
  peer: "198.18.0.30",
  peerId: principal,
  auth: "kerberos",
  identity: { method: "kerberos", principal },
  encryption: "AES-CBC-256",
  integrity: "HMAC-SHA2-256-128",
  prf: "HMAC-SHA2-256",
  dh: "MODP-2048",
  lifetimeSec: 28800,
  ageSec: 12,
  childSas: 1,
  refusal: null,
});

const qm: QmSaView = {
  ikeSa: "0x1_0x2",
  peer: "198.18.0.30",
  local: "198.18.0.20",
  remote: "198.18.0.30",
  protocol: "ah",
  mode: "transport",
  udpEncap: false,
  spiIn: "0xa",
  spiOut: "0xb",
  transform: `HMAC-SHA1-96 ${SCRIPT}`,
  localSelectors: ["198.18.0.20/32 tcp 80"],
  remoteSelectors: ["198.18.0.30/32 tcp any"],
  bytesIn: 2048,
  packetsIn: 10,
  bytesOut: 1_500_000,
  packetsOut: 12,
  lifetimeSec: 3600,
  lifetimeKb: 100000,
  ageSec: 12,
};

const stats = (bytesIn: number, bytesOut: number, noSa: number): StatsReply =>
  ({
    time: "2026-12-06T18:00:00.000Z",
    drops: { inbound: { no_sa: noSa, replay: 0 }, outbound: { no_policy: 0 } },
    info: {},
    sas: [
      { direction: "in", bytes: bytesIn },
      { direction: "out", bytes: bytesOut },
    ],
    ike: { drops: { bad_auth: 1 }, sas: [] },
    bypass: { admitted: 2, "not-in-bypass-list": 1 },
  }) as unknown as StatsReply;

const frame = { title: "IP Security Monitor", user: { name: `ADMIN${SCRIPT}`, csrf: "tok" } };

describe("console: pages from hostile data", () => {
  it("an SA whose principal and transform hold <script> shows them as text", () => {
    const page = monitorPage(
      frame,
      { ok: true, value: { mm: [mm(`X${SCRIPT}$@BIGFIRM.COM`)], qm: [qm], stats: stats(1, 2, 3) } },
      [],
      Date.now(),
    ).text;
    assert.doesNotMatch(page, /<script>/);
    assert.match(page, /X&lt;script&gt;alert\(1\)&lt;\/script&gt;\$@BIGFIRM\.COM/);
    assert.match(page, /HMAC-SHA1-96 &lt;script&gt;/);
    assert.match(page, /<td>no_sa<\/td><td>3<\/td>/, "drops by reason");
    assert.match(page, /<td>not-in-bypass-list<\/td><td>1<\/td>/);
    assert.match(page, /name="csrf" value="tok"/, "the logout form carries the token");
  });
  it("a drop log line with markup is shown as text", () => {
    const page = firewallPage(
      { ...frame, title: "Windows Firewall" },
      {
        ok: true,
        value: {
          settings: null,
          peers: { ok: false, why: `agent ${SCRIPT}` },
          identified: [
            {
              time: "t",
              action: "DROP",
              protocol: "TCP",
              src: "198.18.0.31",
              dst: "198.18.0.20",
              sport: 40000,
              dport: 80,
              path: "RECEIVE",
              principal: `C${SCRIPT}$@BIGFIRM.COM`,
              sa: "s",
              admitted: false,
              lacks: [SCRIPT],
              why: SCRIPT,
            },
          ],
          logged: [`2026-12-06 18:00:00 DROP TCP ${SCRIPT}`],
        },
      },
    ).text;
    assert.doesNotMatch(page, /<script>/);
    assert.match(page, /198\.18\.0\.31:40000/);
  });
  it("the Why? form keeps what was typed, escaped, and shows an error as text", () => {
    const page = whyPage(
      { ...frame, title: "Why?" },
      { src: `"><script>`, dst: "", proto: "tcp", sport: "", dport: "" },
      { ok: false, why: `explain: ${SCRIPT}` },
    ).text;
    assert.doesNotMatch(page, /<script>/);
    assert.match(page, /name="src" value="&quot;&gt;&lt;script&gt;"/);
  });
});

describe("console: sessions", () => {
  it("a session is found by its id, ends at logout, after idling, and at its maximum age", () => {
    let now = 0;
    const s = new Sessions(counter(), () => now, { max: 4, idleMs: 100, maxAgeMs: 1000 });
    const a = s.create("ADMIN");
    assert.notEqual(a.id, a.csrf);
    assert.equal(a.id.length, 43, "256 bits, base64url");
    assert.equal(s.get(a.id)?.user, "ADMIN");
    assert.equal(s.get("nope"), null);
    assert.equal(s.get(undefined), null);
    now = 99;
    assert.ok(s.get(a.id), "seen: the idle timer restarts");
    now = 198;
    assert.ok(s.get(a.id));
    now = 299;
    assert.equal(s.get(a.id), null, "idle for more than 100 ms");
    now = 300;
    const b = s.create("ADMIN");
    for (let t = 300; t <= 1400; t += 50) {
      now = t;
      if (t - 300 <= 1000) assert.ok(s.get(b.id), `alive at ${t}`);
      else assert.equal(s.get(b.id), null, `past its maximum age at ${t}`);
    }
    const c = s.create("ADMIN");
    s.delete(c.id);
    assert.equal(s.get(c.id), null);
  });
  it("at most `max` sessions: a new login pushes out the least recently used", () => {
    let now = 0;
    const s = new Sessions(counter(), () => now, { max: 2, idleMs: 1e9, maxAgeMs: 1e9 });
    const a = s.create("A");
    now = 1;
    const b = s.create("B");
    now = 2;
    s.get(a.id);
    now = 3;
    const c = s.create("C");
    assert.equal(s.size, 2);
    assert.ok(s.get(a.id));
    assert.equal(s.get(b.id), null, "B was the least recently used");
    assert.ok(s.get(c.id));
  });
});

describe("console: CSRF, origin, cookies", () => {
  it("tokens compare equal only when identical and non-empty", () => {
    assert.equal(sameToken("abc", "abc"), true);
    assert.equal(sameToken("abc", "abd"), false);
    assert.equal(sameToken("abc", "abcd"), false);
    assert.equal(sameToken("", ""), false);
    assert.equal(sameToken(undefined, "abc"), false);
  });
  it("a POST's Origin must be this console's scheme and host", () => {
    assert.equal(sameOrigin("http://127.0.0.1:9390", "127.0.0.1:9390", false), true);
    assert.equal(sameOrigin("https://127.0.0.1:9390", "127.0.0.1:9390", false), false);
    assert.equal(sameOrigin("http://127.0.0.1:9390", "127.0.0.1:9390", true), false);
    assert.equal(sameOrigin("http://evil.example", "127.0.0.1:9390", false), false);
    assert.equal(sameOrigin("null", "127.0.0.1:9390", false), false);
    assert.equal(sameOrigin(undefined, "127.0.0.1:9390", false), false);
  });
  it("cookies: HttpOnly and SameSite=Strict always, Secure with TLS; parsed first-wins", () => {
    assert.equal(setCookie("a", "b", { secure: false }), "a=b; Path=/; HttpOnly; SameSite=Strict");
    assert.equal(
      setCookie("a", "", { secure: true, maxAgeSec: 0 }),
      "a=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0",
    );
    const c = parseCookies("x=1; postern_console=abc ; x=2; junk; =v");
    assert.equal(c.get("postern_console"), "abc");
    assert.equal(c.get("x"), "1");
    assert.equal(c.size, 2);
  });
});

describe("console: login throttle", () => {
  it("5 failures a minute per address, 30 in all, then it opens again", () => {
    let now = 0;
    const t = new LoginThrottle(() => now);
    for (let i = 0; i < 5; i++) {
      assert.ok(t.allowed("10.0.0.1"));
      t.failed("10.0.0.1");
    }
    assert.equal(t.allowed("10.0.0.1"), false);
    assert.ok(t.allowed("10.0.0.2"), "another address still may");
    for (let i = 0; i < 25; i++) t.failed(`10.0.1.${i}`);
    assert.equal(t.allowed("10.0.0.3"), false, "30 failures in all: nobody may");
    now = 60_001;
    assert.ok(t.allowed("10.0.0.1"), "a minute later");
    assert.ok(t.allowed("10.0.0.3"));
  });
  it("remembers a bounded number of addresses", () => {
    const t = new LoginThrottle(() => 0, {
      perAddress: 1,
      total: 1e9,
      windowMs: 1e9,
      addresses: 3,
    });
    for (const a of ["a", "b", "c", "d"]) t.failed(a);
    assert.ok(t.allowed("a"), "the oldest address was forgotten");
    assert.equal(t.allowed("d"), false);
  });
});

describe("console: plots", () => {
  it("rates between samples; a counter that went down counts 0", () => {
    const r = new Ring<ReturnType<typeof sampleOf>>(3);
    r.push(sampleOf(stats(0, 0, 0), 0));
    r.push(sampleOf(stats(2000, 4000, 2), 2000));
    r.push(sampleOf(stats(1000, 8000, 2), 4000));
    r.push(sampleOf(stats(3000, 8000, 6), 6000));
    assert.equal(r.items().length, 3, "the ring keeps its capacity");
    assert.deepEqual(
      rates(r.items()).map((x) => [x.t, x.inBps, x.outBps, x.dropsPerSec]),
      [
        [4000, 0, 2000, 0],
        [6000, 1000, 0, 2],
      ],
    );
    assert.equal(sampleOf(stats(1, 2, 3), 0).drops, 4, "data path and IKE drops");
  });
  it("an SVG line per series, scaled to a rounded maximum, title escaped", () => {
    assert.deepEqual([0, 1, 3, 10, 11, 420, 5001].map(niceCeiling), [1, 1, 5, 10, 20, 500, 10000]);
    const svg = linePlot({
      title: `T${SCRIPT}`,
      unit: "B/s",
      now: 10_000,
      windowMs: 10_000,
      series: [
        {
          name: "in",
          color: "#00f",
          points: [
            { t: 0, v: 0 },
            { t: 10_000, v: 420 },
          ],
        },
        { name: "out", color: "#0f0", points: [] },
      ],
    }).text;
    assert.equal(svg.match(/<polyline/g)?.length, 1, "no line for an empty series");
    assert.match(svg, /points="44\.0,102\.0 356\.0,[\d.]+"/);
    assert.match(svg, />500 B\/s</);
    assert.doesNotMatch(svg, /<script>/);
  });
});

describe("console: options and user names", () => {
  it("--listen: ADDR:PORT, [v6]:PORT, loopback or not", () => {
    assert.deepEqual(parseListen("127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
    assert.deepEqual(parseListen("[::1]:8080"), { host: "::1", port: 8080 });
    assert.deepEqual(parseListen("127.0.0.2"), { host: "127.0.0.2", port: 9390 });
    assert.throws(() => parseListen("localhost:80"), /expected ADDR:PORT/);
    assert.throws(() => parseListen("1.2.3.4:70000"), /above 65535/);
    assert.equal(isLoopback("127.9.9.9"), true);
    assert.equal(isLoopback("::1"), true);
    assert.equal(isLoopback("0.0.0.0"), false);
    assert.equal(isLoopback("198.18.0.20"), false);
  });
  it("the administrator's name in its three spellings, other realms refused", () => {
    const id = { realm: "BIGFIRM.COM", domain: "bigfirm.com" };
    assert.equal(userName("Administrator", id), "Administrator");
    assert.equal(userName("bigfirm\\Administrator", id), "Administrator");
    assert.equal(userName("Administrator@bigfirm.com", id), "Administrator");
    assert.equal(userName("OTHER\\Administrator", id), null);
    assert.equal(userName("Administrator@OTHER.COM", id), null);
    assert.equal(userName("a/b", id), null, "no service principals");
    assert.equal(userName("", id), null);
  });
});

describe("console: bad options, refused before listening", () => {
  it("a non-loopback address without --allow-remote, remote without TLS, half of TLS", async () => {
    const home = tempHome("con");
    try {
      for (const [args, why] of [
        [["--listen", "198.18.0.20:9390"], /not a loopback address; .*--allow-remote/],
        [["--listen", "0.0.0.0:9390", "--allow-remote"], /needs --tls-cert and --tls-key/],
        [["--tls-cert", "c.pem"], /--tls-cert and --tls-key go together/],
        [["--listen", "localhost"], /expected ADDR:PORT/],
        [["--sample-ms", "5"], /sample-ms/],
      ] as const) {
        const r = await cli(home.dir, "console", ...args);
        assert.equal(r.code, 2, args.join(" "));
        assert.match(r.err, why);
        assert.equal(r.err.trim().split("\n").length, 1, "one line");
        assert.equal(r.out, "", "nothing served");
      }
    } finally {
      home.cleanup();
    }
  });
});
