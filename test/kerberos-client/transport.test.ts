/** RFC 4120 §7.2: UDP first, TCP for large requests and after KRB_ERR_RESPONSE_TOO_BIG, failover. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeKrbError } from "../../src/kerberos/messages/index.js";
import {
  createFakeKdcIo,
  createKdcTransport,
  isResponseTooBig,
  TransportError,
} from "../../src/kerberos/transport.js";

const KDCS = [
  { host: "10.0.0.1", port: 88 },
  { host: "10.0.0.2", port: 88 },
];
const sname = { nameType: 2, nameString: ["krbtgt", "R"] };
const tooBig = encodeKrbError({ stime: new Date(0), susec: 0, errorCode: 52, realm: "R", sname });
const otherError = encodeKrbError({
  stime: new Date(0),
  susec: 0,
  errorCode: 6,
  realm: "R",
  sname,
});
const req = new Uint8Array(100).fill(7);

describe("KDC transport", () => {
  it("RFC 4120 §7.2.1: KRB_ERR_RESPONSE_TOO_BIG over UDP -> the same KDC over TCP", async () => {
    const io = createFakeKdcIo((proto) => (proto === "udp" ? tooBig : new Uint8Array([1, 2, 3])));
    const t = createKdcTransport({ io, kdcsOf: () => KDCS });
    assert.deepEqual(await t.send("R", req), new Uint8Array([1, 2, 3]));
    assert.deepEqual(
      io.calls.map((c) => `${c.proto} ${c.kdc.host}`),
      ["udp 10.0.0.1", "tcp 10.0.0.1"],
    );
  });

  it("other KRB-ERRORs are returned as they are", async () => {
    assert.equal(isResponseTooBig(tooBig), true);
    assert.equal(isResponseTooBig(otherError), false);
    assert.equal(isResponseTooBig(new Uint8Array([0x7e, 0x01])), false);
    const io = createFakeKdcIo(() => otherError);
    assert.deepEqual(
      await createKdcTransport({ io, kdcsOf: () => KDCS }).send("R", req),
      otherError,
    );
  });

  it("a request above udp_preference_limit goes over TCP first", async () => {
    const io = createFakeKdcIo(() => new Uint8Array([9]));
    await createKdcTransport({ io, kdcsOf: () => KDCS, udpPreferenceLimit: 1 }).send("R", req);
    assert.deepEqual(
      io.calls.map((c) => c.proto),
      ["tcp"],
    );
  });

  it("a silent KDC -> the next one; bounded rounds, then one line naming the realm", async () => {
    let n = 0;
    const io = createFakeKdcIo((_p, kdc) => {
      n++;
      if (kdc.host === "10.0.0.1") throw new Error("no UDP reply in 1 ms");
      return new Uint8Array([5]);
    });
    assert.deepEqual(
      await createKdcTransport({ io, kdcsOf: () => KDCS }).send("R", req),
      new Uint8Array([5]),
    );
    assert.equal(n, 2);
    const dead = createFakeKdcIo(() => {
      throw new Error("no UDP reply in 1 ms");
    });
    await assert.rejects(
      createKdcTransport({ io: dead, kdcsOf: () => KDCS, maxRounds: 3 }).send("R", req),
      (e: unknown) =>
        e instanceof TransportError &&
        /cannot reach any KDC for realm R \(10\.0\.0\.1:88, 10\.0\.0\.2:88; 6 attempts/.test(
          e.message,
        ),
    );
    assert.equal(dead.calls.length, 6);
  });
});
