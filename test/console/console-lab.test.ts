/**
 * The web console on the article's lab (issue 15 items 3 and 4), in a real browser:
 * Debian's chromium driven by playwright-core, run in server1's namespace beside
 * `postern console` (which reads server1's agent and firewall, dc1's directory, and asks
 * dc1's KDC to check the administrator's password).
 *
 *   no session      every page answers 401 with the login form and no data
 *   log in          the lab's Administrator password; a wrong one is refused
 *   Monitor         xpclient's IKE SA with its principal XPCLIENT$@BIGFIRM.COM, plots
 *   Firewall        client2's drop, with its principal and what it lacks (trusted)
 *   Directory       the computers, trusted with xpclient$ in it, what each gets
 *   Why?            client2 -> server1 TCP 80: BLOCKED, decided by the firewall
 *   CSRF            a POST without the form's token is refused (403)
 *   log out         the session is gone: 401 again
 * Each page's screenshot goes to a temporary folder and is checked to be a PNG; with
 * POSTERN_SCREENSHOTS=docs they replace docs/screenshots/ (so a test run leaves git clean).
 */
import * as assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { BIN, needsRoot, tempHome } from "../helpers/cli.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SHOTS =
  process.env.POSTERN_SCREENSHOTS === "docs"
    ? path.join(ROOT, "docs", "screenshots")
    : fs.mkdtempSync(path.join(os.tmpdir(), "postern-console-shots-"));
const CHROMIUM = "/usr/bin/chromium";
const SERVER = "198.18.0.20";

/** The page's text as a user reads it (rendered: table cells apart, by tabs). */
// biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what is asserted
const mainText = (page: Page) => page.locator("main").innerText();

const skip = needsRoot().skip || (!fs.existsSync(CHROMIUM) && "skipped: needs Debian's chromium");

describe("postern console on the lab, in chromium", { skip }, () => {
  const home = tempHome("labcon");
  let id = "";
  let url = "";
  let consoleProc: ChildProcess | undefined;
  let consoleLog = "";
  let browser: Browser | undefined;
  let page: Page;
  const hostHome = (h: string) => path.join(home.dir, "lab", h);
  const ns = (h: string) => `${id}-${h}`;
  const binIn = (host: string, args: string[], timeoutMs = 60_000) =>
    spawnSync(
      "ip",
      ["netns", "exec", ns(host), process.execPath, BIN, "--home", hostHome(host), ...args],
      { encoding: "utf8", timeout: timeoutMs },
    );
  const fetchFrom = (host: string, ms: number) =>
    /"served":true/.test(
      binIn(host, ["lab", "fetch", `http://${SERVER}/`, "--timeout-ms", `${ms}`], ms + 10_000)
        .stdout,
    );
  /** curl in server1's namespace: status and body, no browser, no cookie. */
  const curl = (args: string[]) => {
    const r = spawnSync(
      "ip",
      ["netns", "exec", ns("server1"), "curl", "-s", "-o", "-", "-w", "\n%{http_code}", ...args],
      { encoding: "utf8", timeout: 20_000 },
    );
    const lines = r.stdout.trimEnd().split("\n");
    return { status: Number(lines.pop()), body: lines.join("\n") };
  };
  const shot = async (name: string) => {
    const file = path.join(SHOTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    // a PNG, not an empty or error page's bytes
    assert.equal(fs.readFileSync(file).subarray(1, 4).toString("latin1"), "PNG");
  };

  before(async () => {
    // not runBin's 60 s: under load (8 sessions on 2 CPUs) up has taken longer
    const up = spawnSync(process.execPath, [BIN, "--home", home.dir, "lab", "up"], {
      encoding: "utf8",
      timeout: 240_000,
    });
    assert.equal(up.status, 0, up.stderr);
    id = (
      JSON.parse(fs.readFileSync(path.join(home.dir, "lab", "state.json"), "utf8")) as {
        id: string;
      }
    ).id;
    // traffic: xpclient served (its SA on server1), client2 dropped by server1's firewall
    assert.ok(fetchFrom("xpclient", 10_000), "xpclient is served");
    assert.equal(fetchFrom("client2", 3000), false, "client2 is blocked");
    consoleProc = spawn(
      "ip",
      [
        "netns",
        "exec",
        ns("server1"),
        process.execPath,
        BIN,
        "--home",
        hostHome("server1"),
        "console",
        "--listen",
        "127.0.0.1:0",
        "--dc-home",
        hostHome("dc1"),
        "--sample-ms",
        "500",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    consoleProc.stderr?.on("data", (d: Buffer) => {
      consoleLog += d.toString();
    });
    url = await new Promise<string>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(
        () => reject(new Error(`console did not start: ${consoleLog}`)),
        30_000,
      );
      consoleProc?.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      consoleProc?.once("exit", (code) =>
        reject(new Error(`console exited ${code}: ${consoleLog}`)),
      );
    });
    // the browser in server1's namespace too: the console listens on its loopback
    const wrapper = path.join(home.dir, "chromium-in-server1.sh");
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns("server1")} ${CHROMIUM} "$@"\n`, {
      mode: 0o700,
    });
    browser = await chromium.launch({ executablePath: wrapper, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
    fs.mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    if (consoleProc?.pid !== undefined && consoleProc.exitCode === null) {
      consoleProc.kill("SIGTERM");
      await new Promise((r) => consoleProc?.once("exit", r));
    }
    // as up: more than runBin's 60 s under load, or the lab outlives its state
    spawnSync(process.execPath, [BIN, "--home", home.dir, "lab", "down"], { timeout: 180_000 });
    home.cleanup();
    if (process.env.POSTERN_SCREENSHOTS !== "docs")
      fs.rmSync(SHOTS, { recursive: true, force: true });
  });

  it("without a session every page answers 401 with the login form and no data", async () => {
    for (const p of ["/", "/monitor", "/firewall", "/directory", "/why", "/nope"]) {
      const r = curl([`${url.replace(/\/$/, "")}${p}`]);
      assert.equal(r.status, 401, p);
      assert.match(r.body, /name="password"/, p);
      assert.doesNotMatch(r.body, /XPCLIENT|CLIENT2|198\.18\.0\.3/, `${p} shows no data`);
    }
    const res = await page.goto(`${url}firewall`);
    assert.equal(res?.status(), 401);
    assert.doesNotMatch(await page.content(), /CLIENT2/);
    await shot("login");
  });

  it("a wrong password is refused; the Administrator's logs in", async () => {
    await page.goto(url);
    await page.fill('input[name="user"]', "Administrator");
    await page.fill('input[name="password"]', "not-the-password");
    const bad = await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    assert.equal(bad[0]?.status(), 401);
    assert.match(await page.content(), /wrong user name or password/);
    const password = fs
      .readFileSync(path.join(home.dir, "lab", "admin-password.txt"), "utf8")
      .trim();
    await page.fill('input[name="password"]', password);
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    assert.equal(new URL(page.url()).pathname, "/monitor", consoleLog);
    assert.match(
      consoleLog,
      /ADMINISTRATOR@BIGFIRM\.COM logged in|Administrator@BIGFIRM\.COM logged in/,
    );
    const cookies = await page.context().cookies();
    const c = cookies.find((x) => x.name === "postern_console");
    assert.ok(c, "a session cookie");
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, "Strict");
  });

  it("IP Security Monitor: xpclient's SA with its principal, and the plots", async () => {
    for (let i = 0; i < 3; i++) assert.ok(fetchFrom("xpclient", 10_000));
    await new Promise((r) => setTimeout(r, 1200)); // the sampler sees the traffic
    await page.goto(`${url}monitor`);
    const text = await mainText(page);
    assert.match(text, /Main mode \(IKE\) SAs/);
    assert.match(text, /198\.18\.0\.30[^\n]*XPCLIENT\$@BIGFIRM\.COM/);
    assert.match(text, /CLIENT2\$@BIGFIRM\.COM/);
    assert.match(text, /Quick mode SAs/);
    assert.match(text, /AH transport/);
    assert.equal(await page.locator("svg.plot").count(), 2);
    assert.ok((await page.locator("svg.plot polyline").count()) >= 2, "the plots have lines");
    assert.match(await page.content(), /http-equiv="refresh" content="5"/);
    await shot("monitor");
  });

  it("Windows Firewall: client2's drop with its principal and what it lacks", async () => {
    await page.goto(`${url}firewall`);
    const text = await mainText(page);
    assert.match(text, /operational mode ON/);
    assert.match(text, /Authenticated IPsec bypass list[\s\S]*trusted[\s\S]*S-1-5-21-/);
    assert.match(text, /198\.18\.0\.30\tXPCLIENT\$@BIGFIRM\.COM\tyes, by S-1-5-21-/);
    assert.match(text, /198\.18\.0\.31:\d+\t198\.18\.0\.20:80\tCLIENT2\$@BIGFIRM\.COM\ttrusted/);
    await shot("firewall");
  });

  it("Directory: computers, nested groups, GPO links and what each computer gets", async () => {
    // a group holding trusted (nesting) and a GPO linked to trusted, made as an admin would
    for (const args of [
      ["domain", "group", "add", "web-admins"],
      ["domain", "group", "add-member", "web-admins", "trusted"],
      ["domain", "gpo", "create", "Web servers"],
      ["domain", "gpo", "link", "Web servers", "trusted"],
    ]) {
      const r = binIn("dc1", args);
      assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
    }
    await page.goto(`${url}directory`);
    const text = await mainText(page);
    const xp = text.split("\n").find((l) => l.startsWith("XPCLIENT$\t")) ?? "";
    assert.match(xp, /xpclient\.bigfirm\.com\tyes\t/);
    assert.match(xp, /\btrusted\b/);
    assert.match(xp, /\bweb-admins\b/, "nested: through trusted");
    assert.match(xp, /Web servers \(via /);
    const c2 = text.split("\n").find((l) => l.startsWith("CLIENT2$\t")) ?? "";
    assert.doesNotMatch(c2, /trusted|web-admins|Web servers/);
    assert.match(text, /trusted\tglobal\tS-1-5-21-[\d-]+\t\s*XPCLIENT\$ \(computer\)/);
    assert.match(
      text,
      /web-admins\tglobal\tS-1-5-21-[\d-]+\t\s*trusted \(group\)\s*XPCLIENT\$ \(computer\)/,
      "the nested group opened",
    );
    assert.match(text, /Web servers\t\d+\ttrusted\t/);
    await shot("directory");
  });

  it("Why?: client2 -> server1 TCP 80 is blocked by the firewall, step by step", async () => {
    await page.goto(`${url}why`);
    await page.fill('input[name="src"]', "198.18.0.31");
    await page.fill('input[name="dst"]', SERVER);
    await page.fill('input[name="proto"]', "tcp");
    await page.fill('input[name="sport"]', "40000");
    await page.fill('input[name="dport"]', "80");
    await Promise.all([page.waitForNavigation(), page.click('form.why button[type="submit"]')]);
    const text = await mainText(page);
    assert.match(text, /CLIENT2\$@BIGFIRM\.COM authenticated by kerberos/);
    assert.match(text, /not-admitted/);
    assert.match(text, /Verdict: BLOCKED \(decided by firewall\)/);
    assert.match(text, /To flip: add CLIENT2\$ to BIGFIRM\\trusted/);
    await shot("why");
  });

  it("a POST without the form's CSRF token, or with another, is refused", async () => {
    for (const csrf of [null, "not-the-token"]) {
      await page.goto(`${url}why`);
      const [res] = await Promise.all([
        page.waitForNavigation(),
        page.evaluate((token) => {
          const f = document.createElement("form");
          f.method = "post";
          f.action = "/why";
          for (const [k, v] of [
            ["src", "198.18.0.31"],
            ["dst", "198.18.0.20"],
            ...(token === null ? [] : [["csrf", token]]),
          ]) {
            const i = document.createElement("input");
            i.name = k as string;
            i.value = v as string;
            f.appendChild(i);
          }
          document.body.appendChild(f);
          f.submit();
        }, csrf),
      ]);
      assert.equal(res?.status(), 403, `csrf ${csrf}`);
      assert.doesNotMatch(await page.content(), /Verdict/);
    }
    assert.match(consoleLog, /POST \/why from .* refused: no or wrong CSRF token/);
  });

  it("log out: the session is gone and every page is 401 again", async () => {
    await page.goto(`${url}monitor`);
    await Promise.all([page.waitForNavigation(), page.click('header button[type="submit"]')]);
    assert.match(await page.content(), /Logged out\./);
    const res = await page.goto(`${url}monitor`);
    assert.equal(res?.status(), 401);
    assert.doesNotMatch(await page.content(), /XPCLIENT/);
  });
});
