/**
 * The agent's IKE transport beside the data path (ike/transport.ts createSharedNattTransport),
 * on loopback: UDP 500 (here a free port) on its own socket both ways; sends from the NAT-T
 * port go out through the data path's socket with the non-ESP marker (RFC 3948 §2.2).
 */
import assert from "node:assert/strict";
import * as dgram from "node:dgram";
import { describe, it } from "node:test";
import { createSharedNattTransport } from "../../src/ike/transport.js";
import type { Datagram } from "../../src/ike/types.js";
import { freePort } from "../dc/helpers.js";

describe("IKE transport sharing UDP 4500 with the data path", () => {
  it("IKE port: its own socket both ways; NAT-T port: marker + the data path's send", async () => {
    const port = await freePort();
    const natt: { data: Buffer; to: { address: string; port: number } }[] = [];
    const t = await createSharedNattTransport({
      address: "127.0.0.1",
      ikePort: port,
      sendNatt: (data, to) => natt.push({ data, to }) > 0,
    });
    const got: Datagram[] = [];
    t.onReceive((d) => got.push(d));
    const peer = dgram.createSocket("udp4");
    await new Promise<void>((r) => peer.bind(0, "127.0.0.1", () => r()));
    const peerPort = (peer.address() as { port: number }).port;
    const fromUs = new Promise<Buffer>((r) => peer.once("message", (m) => r(m)));
    try {
      peer.send(Buffer.from("init"), port, "127.0.0.1");
      for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(got[0]?.data.toString(), "init");
      assert.deepEqual(got[0]?.local, { address: "127.0.0.1", port });
      assert.deepEqual(got[0]?.remote, { address: "127.0.0.1", port: peerPort });
      t.send({
        data: Buffer.from("resp"),
        local: { address: "127.0.0.1", port },
        remote: { address: "127.0.0.1", port: peerPort },
      });
      assert.equal((await fromUs).toString(), "resp");
      t.send({
        data: Buffer.from("auth"),
        local: { address: "127.0.0.1", port: 4500 },
        remote: { address: "192.0.2.9", port: 4500 },
      });
      assert.deepEqual(natt, [
        {
          data: Buffer.concat([Buffer.alloc(4), Buffer.from("auth")]),
          to: { address: "192.0.2.9", port: 4500 },
        },
      ]);
    } finally {
      peer.close();
      await t.close();
    }
  });

  it("a port already bound: the bind error, nothing left open", async () => {
    const port = await freePort();
    const busy = dgram.createSocket("udp4");
    await new Promise<void>((r) => busy.bind(port, "127.0.0.1", () => r()));
    try {
      await assert.rejects(
        createSharedNattTransport({ address: "127.0.0.1", ikePort: port, sendNatt: () => true }),
        { code: "EADDRINUSE" },
      );
    } finally {
      busy.close();
    }
  });
});
