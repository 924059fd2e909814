/**
 * `journalctl -p` on a postern service's output, with a real systemd-journald: in a private
 * mount namespace (tmpfs over /run and /var/log/journal, so the host's journal is not
 * touched) the test starts its own journald, runs `postern dc start` with stdout and stderr
 * connected to journald's stream socket by `systemd-cat --level-prefix=true` (as
 * StandardOutput=journal does) and JOURNAL_STREAM naming that socket (as systemd sets it),
 * makes the KDC log an issued ticket (info) and a wrong password (notice), and asks
 * journalctl what an operator would: `-p notice` shows the refusal and not the issue,
 * `-p info` both, `-p err` neither; journald stored each line's priority and stripped the
 * `<N>` prefix.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { BIN, needsRoot, tempHome } from "../helpers/cli.js";
import { cliInit, freeFixedPort, PASSWORD } from "../dc/helpers.js";

const JOURNALD = "/lib/systemd/systemd-journald";
const haveJournald = fs.existsSync(JOURNALD) && spawnSync("systemd-cat", ["--help"]).status === 0;

/** The scenario, run by sh in the private mount namespace; results land in $OUT. */
const SCRIPT = `
set -eu
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/log/journal
mkdir -p /run/systemd/journal
${JOURNALD} &
JD=$!
trap 'kill $DC 2>/dev/null || true; kill $JD' EXIT
for i in $(seq 100); do [ -S /run/systemd/journal/stdout ] && break; sleep 0.05; done
# systemd-cat connects fd 1 and 2 to journald; JOURNAL_STREAM names that socket (dev:inode).
systemd-cat -t postern-dc --level-prefix=true sh -c \\
  'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$0" "$@"' \\
  "$NODE" "$BIN" --home "$HOME_DIR" dc start --listen 127.0.0.1 --kdc-port "$KDC_PORT" \\
  --dns-port 0 --api-port 0 &
DC=$!
J="journalctl -D /run/log/journal -t postern-dc"
for i in $(seq 200); do $J -o cat | grep -q "dc: ready" && break; sleep 0.1; done
echo "$PASSWORD" | kinit Administrator >/dev/null
echo "Wrong-Passw0rd" | KRB5CCNAME="FILE:$HOME_DIR/x" kinit Administrator >/dev/null 2>&1 || true
sleep 0.5
$J -p err -o cat > "$OUT/err.txt"
$J -p notice -o cat > "$OUT/notice.txt"
$J -p info -o cat > "$OUT/info.txt"
$J -o json > "$OUT/all.json"
`;

describe("journalctl -p filters a postern service's lines by their priority (real journald)", {
  ...needsRoot(),
  ...(haveJournald ? {} : { skip: "skipped: needs systemd-journald and systemd-cat" }),
}, () => {
  const home = tempHome("pjournal");
  after(() => home.cleanup());
  const out = path.join(home.dir, "out");

  it("-p notice: the wrong password's PREAUTH_FAILED, not the ticket issued; -p info: both", async () => {
    await cliInit(home.dir);
    fs.mkdirSync(out);
    const kdcPort = await freeFixedPort();
    const conf = path.join(home.dir, "krb5.conf");
    fs.writeFileSync(
      conf,
      `[libdefaults]\n default_realm = BIGFIRM.COM\n dns_lookup_kdc = false\n rdns = false\n udp_preference_limit = 1\n[realms]\n BIGFIRM.COM = {\n  kdc = 127.0.0.1:${kdcPort}\n }\n`,
    );
    const r = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", SCRIPT], {
      encoding: "utf8",
      timeout: 60_000,
      env: {
        ...process.env,
        NODE: process.execPath,
        BIN,
        HOME_DIR: home.dir,
        KDC_PORT: String(kdcPort),
        PASSWORD,
        OUT: out,
        KRB5_CONFIG: conf,
        KRB5CCNAME: `FILE:${path.join(home.dir, "cc")}`,
      },
    });
    assert.equal(r.status, 0, r.stderr);
    const read = (f: string) => fs.readFileSync(path.join(out, f), "utf8");
    const info = read("info.txt");
    const notice = read("notice.txt");
    assert.match(info, /dc: ready/);
    assert.match(info, /kdc: AS_REQ .*: ISSUE: .*Administrator@BIGFIRM\.COM for krbtgt/);
    assert.match(info, /kdc: AS_REQ .*: PREAUTH_FAILED: Administrator@BIGFIRM\.COM/);
    assert.match(notice, /kdc: AS_REQ .*: PREAUTH_FAILED: Administrator@BIGFIRM\.COM/);
    assert.doesNotMatch(notice, /ISSUE|NEEDED_PREAUTH|dc: ready/);
    assert.equal(read("err.txt").trim(), "", "no error was logged");
    // journald kept the priority and stripped the prefix.
    const entries = read("all.json")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { MESSAGE: string; PRIORITY: string });
    const failed = entries.find((e) => /PREAUTH_FAILED/.test(e.MESSAGE));
    assert.equal(failed?.PRIORITY, "5");
    assert.equal(entries.find((e) => /: ISSUE: /.test(e.MESSAGE))?.PRIORITY, "6");
    assert.ok(
      entries.every((e) => !/^<\d>/.test(e.MESSAGE)),
      "no <N> left in a message",
    );
  });
});
