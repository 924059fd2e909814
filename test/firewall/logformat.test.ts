import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { createLogFile } from "../../src/firewall/logfile.js";
import { formatLogLine, logHeader } from "../../src/firewall/logformat.js";
import { createFirewallLogger } from "../../src/firewall/logger.js";
import {
  bindGroupRequest,
  copyModeRequest,
  decodeMessages,
} from "../../src/firewall/nflog-codec.js";
import { parsePacket } from "../../src/firewall/packet.js";
import { tempHome } from "../helpers/cli.js";

/** An IPv4 TCP SYN 10.0.0.2:40000 -> 10.0.0.1:81, seq 1000, window 64240 (60 bytes). */
function tcpSyn(): Buffer {
  const p = Buffer.alloc(60);
  p[0] = 0x45;
  p.writeUInt16BE(60, 2);
  p[9] = 6;
  Buffer.from([10, 0, 0, 2]).copy(p, 12);
  Buffer.from([10, 0, 0, 1]).copy(p, 16);
  p.writeUInt16BE(40000, 20);
  p.writeUInt16BE(81, 22);
  p.writeUInt32BE(1000, 24);
  p[32] = 0xa0;
  p[33] = 0x02;
  p.writeUInt16BE(64240, 34);
  return p;
}

/** An NFLOG packet message as the kernel sends it (group, prefix, payload). */
function nflogMessage(group: number, prefix: string, payload: Buffer): Buffer {
  const attr = (type: number, v: Buffer) => {
    const a = Buffer.alloc((4 + v.length + 3) & ~3);
    a.writeUInt16LE(4 + v.length, 0);
    a.writeUInt16LE(type, 2);
    v.copy(a, 4);
    return a;
  };
  const body = Buffer.concat([
    Buffer.from([2, 0, group >> 8, group & 0xff]),
    attr(10, Buffer.from(`${prefix}\0`)),
    attr(9, payload),
  ]);
  const h = Buffer.alloc(16);
  h.writeUInt32LE(16 + body.length, 0);
  h.writeUInt16LE(0x0400, 4);
  return Buffer.concat([h, body]);
}

describe("pfirewall.log format (Windows XP SP2 / Server 2003 SP1 W3C extended log)", () => {
  it("header lines", () => {
    assert.equal(
      logHeader(),
      "#Version: 1.5\n#Software: postern Windows Firewall\n#Time Format: Local\n" +
        "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path\n\n",
    );
  });
  it("DROP line of a TCP SYN carries size, flags, seq, ack, window", () => {
    const f = parsePacket(tcpSyn());
    assert.ok(f);
    const t = new Date(2026, 10, 27, 8, 1, 2);
    assert.equal(
      formatLogLine(t, "DROP", f, "RECEIVE"),
      "2026-11-27 08:01:02 DROP TCP 10.0.0.2 10.0.0.1 40000 81 60 S 1000 0 64240 - - - RECEIVE",
    );
    assert.equal(
      formatLogLine(t, "OPEN", f, "RECEIVE"),
      "2026-11-27 08:01:02 OPEN TCP 10.0.0.2 10.0.0.1 40000 81 - - - - - - - - -",
    );
  });
  it("DROP line of an ICMP echo carries type and code", () => {
    const p = Buffer.alloc(28);
    p[0] = 0x45;
    p.writeUInt16BE(84, 2);
    p[9] = 1;
    Buffer.from([10, 0, 0, 2, 10, 0, 0, 1]).copy(p, 12);
    p[20] = 8;
    const f = parsePacket(p);
    assert.ok(f);
    assert.equal(
      formatLogLine(new Date(2026, 0, 2, 3, 4, 5), "DROP", f, "RECEIVE"),
      "2026-01-02 03:04:05 DROP ICMP 10.0.0.2 10.0.0.1 - - 84 - - - - 8 0 - RECEIVE",
    );
  });
  it("a truncated packet is not parsed (no throw)", () => {
    assert.equal(parsePacket(Buffer.from([0x45, 0])), null);
    assert.equal(parsePacket(Buffer.alloc(0)), null);
  });
  it("rotates to pfirewall.log.old at the size limit, each file starting with the header", () => {
    const h = tempHome("pfwlog");
    try {
      const file = path.join(h.dir, "pfirewall.log");
      const log = createLogFile(file, 1);
      const line = "x".repeat(99);
      for (let i = 0; i < 15; i++) log.append(line);
      assert.ok(fs.existsSync(`${file}.old`));
      for (const f of [file, `${file}.old`]) {
        const text = fs.readFileSync(f, "utf8");
        assert.ok(text.startsWith(logHeader()));
        assert.ok(Buffer.byteLength(text) <= 1024);
      }
      const lines = (f: string) =>
        fs
          .readFileSync(f, "utf8")
          .split("\n")
          .filter((l) => l === line).length;
      assert.ok(lines(file) >= 1 && lines(`${file}.old`) >= 1);
      assert.ok(fs.readFileSync(file, "utf8").endsWith(`${line}\n`));
    } finally {
      h.cleanup();
    }
  });
});

describe("NFLOG messages (linux/netfilter/nfnetlink_log.h)", () => {
  it("config requests: bind group, copy packet mode", () => {
    const b = bindGroupRequest(7801, 1);
    assert.equal(b.readUInt32LE(0), b.length);
    assert.equal(b.readUInt16LE(4), 0x0401);
    assert.equal(b.readUInt16BE(18), 7801);
    assert.deepEqual([...b.subarray(20)], [5, 0, 1, 0, 1, 0, 0, 0]);
    const m = copyModeRequest(7801, 2, 128);
    assert.deepEqual([...m.subarray(20)], [10, 0, 2, 0, 0, 0, 0, 128, 2, 0, 0, 0]);
  });
  it("decodes a packet event and the logger writes a DROP line", () => {
    const items = decodeMessages(
      Buffer.concat([
        nflogMessage(7801, "RECEIVE", tcpSyn()),
        nflogMessage(7802, "RECEIVE", tcpSyn()),
      ]),
    );
    assert.equal(items.length, 2);
    const lines: string[] = [];
    const logger = createFirewallLogger({
      file: { file: "-", append: (l) => lines.push(l) },
      now: () => new Date(2026, 10, 27, 8, 0, 0),
    });
    for (const it_ of items) if (it_.kind === "packet") logger.onPacket(it_.packet);
    assert.deepEqual(lines, [
      "2026-11-27 08:00:00 DROP TCP 10.0.0.2 10.0.0.1 40000 81 60 S 1000 0 64240 - - - RECEIVE",
      "2026-11-27 08:00:00 OPEN TCP 10.0.0.2 10.0.0.1 40000 81 - - - - - - - - -",
    ]);
    logger.onPacket({ group: 7801, family: 2, prefix: "", payload: Buffer.alloc(3) });
    assert.equal(logger.counters.unparsable, 1);
  });
  it("a truncated netlink buffer yields only whole messages", () => {
    const m = nflogMessage(7801, "RECEIVE", tcpSyn());
    assert.equal(decodeMessages(m.subarray(0, m.length - 4)).length, 0);
  });
});
