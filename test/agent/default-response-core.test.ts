/**
 * The default response rule in the agent core (createAgent over the in-process LAN of
 * inprocess-lan.ts: fake kernel, in-process data path, fake IKE network). A protects its
 * traffic to B with a rule; B's policy has only its default response rule (PSK). A's SYN
 * starts IKE, B answers as the default response rule, its kernel steers the answered flow
 * (B's SYN-ACK goes back through ESP) for as long as the SA lives, and no longer.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { type Agent, createAgent } from "../../src/agent/core.js";
import { createHostPolicySource } from "../../src/agent/host-policy.js";
import type { CliEnv } from "../../src/cmdline/env.js";
import { dhGenerateFast, randomBytes } from "../../src/crypto/primitives.js";
import { systemClock } from "../../src/ike/clock.js";
import { createFakeNetwork } from "../../src/ike/transport.js";
import { cli, tempHome } from "../helpers/cli.js";
import { createLan, type LanHost, until } from "./inprocess-lan.js";
import { p2pPolicy } from "./lab.js";

const A = "198.18.1.1";
const B = "198.18.1.2";

describe("agent core: the default response rule answers and steers the flow it protects", () => {
  const root = tempHome("pdrc");
  const lan = createLan();
  const ike = createFakeNetwork();
  const agents: { host: LanHost; agent: Agent; log: string[] }[] = [];

  async function host(name: string, address: string, lines: string[][]) {
    const home = path.join(root.dir, name);
    for (const l of lines) {
      const r = await cli(home, "netsh", "ipsec", "static", ...l);
      assert.equal(r.code, 0, r.err);
    }
    const h = lan.host(name, address);
    const log: string[] = [];
    const say = (l: string) => log.push(l);
    const env: CliEnv = {
      home,
      json: false,
      out: say,
      err: say,
      vars: {},
      isRoot: false,
      cwd: "/",
    };
    const agent = createAgent({
      local: address,
      dataPath: lan.dataPathOf(h),
      ike: ike.transport(address),
      kernel: lan.kernelOf(h, () => null),
      policy: createHostPolicySource({
        env,
        ours: [address],
        local: address,
        dns: [],
        cert: null,
        key: null,
        gpRefreshMs: 0,
        log: say,
      }),
      clock: systemClock(),
      random: randomBytes,
      dh: dhGenerateFast,
      log: say,
      ikeOptions: {},
      maxQueue: 16,
      holdDownMs: 5_000,
    });
    await agent.start();
    const x = { host: h, agent, log };
    agents.push(x);
    return x;
  }

  let a: Awaited<ReturnType<typeof host>>;
  let b: Awaited<ReturnType<typeof host>>;
  before(async () => {
    a = await host("a", A, p2pPolicy(B, "ESP[AES128GCM,None] ESP[AES128,SHA256]", "s3cret"));
    b = await host("b", B, [
      ["add", "policy", "name=Respond"],
      [
        "set",
        "defaultrule",
        "policy=Respond",
        "kerberos=no",
        "psk=s3cret",
        "qmsecmethods=ESP[AES128,SHA256]",
      ],
      ["set", "policy", "name=Respond", "assign=yes"],
    ]);
    b.host.web = true;
  });
  after(async () => {
    for (const x of agents) await x.agent.stop();
    root.cleanup();
  });

  it("B steers nothing until a peer asks; then A's SYN is answered through the SA", async () => {
    assert.equal(b.host.kernel?.rules?.steering.length, 0);
    assert.equal(b.agent.plan().responders.at(-1)?.name, "default-response");
    lan.connect(a.host, b.host, 41001);
    assert.ok(await until(() => a.host.pages.length > 0, 10_000), [...a.log, ...b.log].join("\n"));
    const seen = a.host.inbound.filter((x) => x.src === B);
    assert.equal(seen.at(-1)?.via, "esp", "B's SYN-ACK came back protected");
    assert.deepEqual(
      b.host.kernel?.rules?.steering.map((s) => `${s.local} ${s.remote}`),
      [`${B}/32 ${A}/32`],
    );
    const qm = await b.agent.control.qmsas();
    assert.equal(qm[0]?.transform, "aes128-sha256", "the default rule's security method");
  });

  it("the SA deleted: B's steering for the answered flow goes with it", async () => {
    const gone = await a.agent.control["delete-sas"]();
    assert.equal(gone.deletedIkeSas.length, 1);
    assert.ok(
      await until(() => b.host.kernel?.rules?.steering.length === 0, 5_000),
      JSON.stringify(b.host.kernel?.rules?.steering),
    );
  });
});
