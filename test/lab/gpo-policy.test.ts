/**
 * The Samba lab's domain script (src/lab/gpo-policy.ts): the article's three scripts of
 * examples/, with only the store arguments added. The script running against Samba AD is
 * test/lab/lab-samba.test.ts; this checks the text, line by line, against the examples.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { domainScript, LAB_GPOS } from "../../src/lab/gpo-policy.js";
import { examplesDir } from "../../src/lab/up.js";

const commands = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));

const article = (f: string) => commands(fs.readFileSync(path.join(examplesDir(), f), "utf8"));

/** The script's lines with the store arguments taken off again. */
const withoutStore = (lines: string[]) =>
  lines.map((l) => l.replace(/ (store=domain )?gponame="[^"]*"$/, ""));

describe("the Samba lab's policies as GPOs: the domain script", () => {
  const lines = commands(domainScript(false));

  it("opens the domain's store and goes back to the local one at the end", () => {
    assert.deepEqual(lines.slice(0, 3), [
      "pushd ipsec static",
      "set store location=domain domain=bigfirm.com",
      "popd",
    ]);
    assert.deepEqual(lines.slice(-3), ["pushd ipsec static", "set store location=local", "popd"]);
  });

  it("assigns each policy in its GPO and writes every firewall command to the firewall GPO", () => {
    assert.ok(
      lines.includes(
        `set policy name="Secure website (server1)" assign=yes gponame="${LAB_GPOS.serverIpsec.name}"`,
      ),
    );
    assert.ok(
      lines.includes(
        `set policy name="Secure website (xpclient)" assign=yes gponame="${LAB_GPOS.clientIpsec.name}"`,
      ),
    );
    const fw = lines.slice(lines.indexOf("pushd firewall") + 1);
    const body = fw.slice(0, fw.indexOf("popd"));
    assert.deepEqual(body, [
      `set opmode mode=enable exceptions=enable store=domain gponame="${LAB_GPOS.firewall.name}"`,
      `set logging droppedpackets=enable connections=disable store=domain gponame="${LAB_GPOS.firewall.name}"`,
      `add bypass name=trusted store=domain gponame="${LAB_GPOS.firewall.name}"`,
    ]);
  });

  it("is the article's scripts otherwise: every command of each, in order, the shared action once", () => {
    const plain = withoutStore(lines);
    for (const f of ["article-server.netsh", "article-client.netsh", "article-firewall.netsh"]) {
      let at = 0;
      for (const c of article(f)) {
        const i = plain.indexOf(c, at);
        if (i < 0 && /^add filteraction /.test(c)) {
          // the client's "sign" is the server's, word for word: written once
          assert.equal(plain.filter((l) => l === c).length, 1, c);
          continue;
        }
        assert.ok(i >= 0, `${f}: ${c}`);
        at = i + 1;
      }
    }
    assert.equal(lines.filter((l) => /^add filteraction name="sign"/.test(l)).length, 1);
  });

  it("--sign esp-null: the shared action set to ESP[None,SHA1] once, before the firewall", () => {
    const esp = commands(domainScript(true));
    const i = esp.indexOf("set filteraction name=sign qmsecmethods=ESP[None,SHA1]");
    assert.ok(i > 0 && i < esp.indexOf("pushd firewall"));
    assert.equal(commands(domainScript(false)).join("\n").includes("ESP[None"), false);
  });
});
