import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { callAdminSocket } from "../../src/dc/admin-socket.js";
import { openSqlite } from "../../src/dc/sqlite.js";
import { tempHome } from "../helpers/cli.js";
import { cliInit, type DcProcess, startDcProcess } from "./helpers.js";

describe("durability: SIGKILL during a burst of changes through the admin socket", () => {
  const home = tempHome("pdc-crash");
  let dc: DcProcess | undefined;
  before(async () => {
    await cliInit(home.dir);
    dc = await startDcProcess(home.dir);
  });
  after(async () => {
    await dc?.kill9();
    home.cleanup();
  });

  it("every acknowledged change is there after restart, and PRAGMA integrity_check is ok", async () => {
    const sock = path.join(home.dir, "dc", "admin.sock");
    const acked: string[] = [];
    const maxChanges = 400;
    let killed = false;
    // Four clients send changes concurrently; the DC is killed after 60 acknowledgements,
    // with requests still in flight.
    const client = async (c: number) => {
      for (let i = 0; i < maxChanges / 4 && !killed; i++) {
        const name = `burst-${c}-${i}`;
        try {
          const op = i % 2 === 0 ? "group.add" : "computer.add";
          const n = op === "computer.add" ? `b${c}x${i}` : name;
          await callAdminSocket(sock, { op, params: { name: n }, actor: "crash-test" }, 10_000);
          acked.push(n);
          if (acked.length === 60 && !killed) {
            killed = true;
            await dc?.kill9();
          }
        } catch {
          return;
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(client));
    assert.ok(killed, "the DC was killed during the burst");
    assert.ok(acked.length >= 60);
    const db = openSqlite(path.join(home.dir, "dc", "directory.db"));
    try {
      assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
      const have = new Set(
        (db.prepare("SELECT sam FROM objects").all() as { sam: string }[]).map((r) =>
          r.sam.toLowerCase(),
        ),
      );
      for (const n of acked) {
        const sam = n.startsWith("b") && !n.startsWith("burst") ? `${n}$` : n;
        assert.ok(have.has(sam.toLowerCase()), `acknowledged change ${n} survived`);
      }
      const audits = db
        .prepare("SELECT COUNT(*) AS n FROM audit WHERE actor LIKE 'crash-test%'")
        .get() as { n: number };
      const objects = db
        .prepare("SELECT COUNT(*) AS n FROM objects WHERE sam LIKE 'burst-%' OR sam LIKE 'b_x%'")
        .get() as { n: number };
      assert.equal(audits.n, objects.n, "each committed change has its audit row, and no more");
    } finally {
      db.close();
    }
    dc = await startDcProcess(home.dir);
    assert.ok(dc.pid > 0, "the DC restarts on the crashed directory");
  });
});
