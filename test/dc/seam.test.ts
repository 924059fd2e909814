import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startDc } from "../../src/dc/daemon.js";
import type { PrincipalDatabase } from "../../src/dc/principals.js";
import { tempHome } from "../helpers/cli.js";
import { cliInit } from "./helpers.js";

describe("the startKdc seam of dc start (filled by the Kerberos issue)", () => {
  it("gets the principal database, host and port, and is closed on stop", async () => {
    const home = tempHome("pdc-seam");
    try {
      await cliInit(home.dir);
      const log: string[] = [];
      let got: { principals: PrincipalDatabase; host: string; port: number } | undefined;
      let closed = false;
      const dc = await startDc({
        home: home.dir,
        host: "127.0.0.1",
        kdcPort: 18088,
        dnsPort: 0,
        apiPort: 0,
        log: (l) => log.push(l),
        startKdc: async (deps) => {
          got = deps;
          return {
            close: async () => {
              closed = true;
            },
          };
        },
      });
      assert.equal(got?.host, "127.0.0.1");
      assert.equal(got?.port, 18088);
      assert.equal(got?.principals.lookup("krbtgt/BIGFIRM.COM", "BIGFIRM.COM")?.keys.length, 2);
      assert.ok(
        log.some((l) => l.includes("Kerberos KDC for BIGFIRM.COM on 127.0.0.1 port 18088")),
      );
      assert.ok(!log.some((l) => l.includes("NOT served")));
      await dc.stop();
      assert.equal(closed, true);
    } finally {
      home.cleanup();
    }
  });
});
