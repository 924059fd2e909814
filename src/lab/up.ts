/**
 * `postern lab up`: the article's network, built for real.
 *   1. namespaces: a switch (bridge br0) and one per host, veth `eth0` into the switch,
 *      198.18.0.x/24, loopback up, no default route;
 *   2. dc1: `dc init` (domain bigfirm.com) and `dc start` (DNS, KDC, API);
 *   3. the directory: group `trusted`, computer accounts with join tokens, xpclient$ in
 *      `trusted` (`net group trusted xpclient$ /add /domain`, as on Windows);
 *   4. members join (`postern join` in their namespace: keytab, TGT, DNS A record);
 *   5. the article's netsh scripts: examples/article-server.netsh on server1,
 *      article-client.netsh on xpclient and client2, article-firewall.netsh on server1
 *      (firewall on, no exception for 80, bypass for `trusted`); the scripts sign with
 *      AH[SHA1] as the article does, `--sign esp-null` switches the "sign" action to
 *      ESP[None,SHA1] afterwards, as an administrator would;
 *   6. server1's web site on TCP 80, then the agents of server1, xpclient and client2.
 * Every namespace and process is written to the lab state before it is made.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CliEnv } from "../cmdline/env.js";
import { randomBytes } from "../crypto/primitives.js";
import { PosternError } from "../errors.js";
import { MAIN_JS, must, mustAsync, posternArgv, posternHere, startDaemon } from "./run.js";
import {
  hostHome,
  type LabSign,
  type LabState,
  labDir,
  loadLabState,
  saveLabState,
} from "./state.js";
import {
  DOMAIN,
  HOSTS,
  type HostName,
  host,
  type LabDc,
  type LabHost,
  NETBIOS,
  namespaceOf,
  PREFIX_LEN,
  WEB_PORT,
} from "./topology.js";

/** The repository's examples/ (dist/src/cli/main.js -> ../../../examples). */
export function examplesDir(): string {
  return path.resolve(path.dirname(MAIN_JS), "..", "..", "..", "examples");
}

/**
 * The netsh command that turns the article scripts' "sign" action (AH[SHA1]) into ESP with
 * NULL encryption: for `--sign esp-null`, NAT, and data paths that carry only ESP-in-UDP.
 */
export const ESP_NULL_SIGN: readonly string[] = [
  "netsh",
  "ipsec",
  "static",
  "set",
  "filteraction",
  "name=sign",
  "qmsecmethods=ESP[None,SHA1]",
];

export type Progress = (line: string) => void;

export async function step<T>(
  progress: Progress,
  what: string,
  f: () => T | Promise<T>,
): Promise<T> {
  const t0 = performance.now();
  const r = await f();
  progress(`lab: ${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return r;
}

export function buildNetwork(home: string, s: LabState, hosts: readonly LabHost[] = HOSTS): void {
  const sw = namespaceOf(s.id, "switch");
  const all = [sw, ...hosts.map((h) => namespaceOf(s.id, h.name))];
  for (const ns of all) {
    s.namespaces.push(ns);
    saveLabState(home, s);
    must(null, ["ip", "netns", "add", ns]);
    must(null, ["ip", "-n", ns, "link", "set", "lo", "up"]);
  }
  must(null, ["ip", "-n", sw, "link", "add", "br0", "type", "bridge"]);
  must(null, ["ip", "-n", sw, "link", "set", "br0", "up"]);
  for (const h of hosts) {
    const ns = namespaceOf(s.id, h.name);
    const port = `v-${h.name}`;
    must(null, ["ip", "-n", sw, "link", "add", port, "type", "veth", "peer", "eth0", "netns", ns]);
    must(null, ["ip", "-n", sw, "link", "set", port, "master", "br0", "up"]);
    must(null, ["ip", "-n", ns, "addr", "add", `${h.address}/${PREFIX_LEN}`, "dev", "eth0"]);
    must(null, ["ip", "-n", ns, "link", "set", "eth0", "up"]);
  }
}

function tokenOf(out: string, name: string): string {
  const m = /join token\s+(\S+)/.exec(out);
  if (!m) throw new PosternError("lab", `no join token in the answer for ${name}`);
  return m[1] as string;
}

async function startDc(env: CliEnv, home: string, s: LabState): Promise<void> {
  const dc = host("dc1");
  const dcHome = hostHome(s, "dc1");
  const pw = path.join(s.dir, "admin-password.txt");
  fs.writeFileSync(pw, `${randomBytes(18).toString("base64")}\n`, { mode: 0o600 });
  await posternHere(env, dcHome, [
    "dc",
    "init",
    "--domain",
    DOMAIN,
    "--netbios",
    NETBIOS,
    "--admin-password-file",
    pw,
    "--dc-name",
    "DC1",
    "--dc-address",
    dc.address,
  ]);
  await startDaemon(s, home, {
    name: "dc1",
    ns: namespaceOf(s.id, "dc1"),
    // Metrics on the namespace's own loopback (127.0.0.1:9852): scraped by the lab's tests.
    argv: [
      ...posternArgv(),
      "--home",
      dcHome,
      "dc",
      "start",
      "--listen",
      dc.address,
      "--metrics",
      "on",
    ],
    ready: /dc: ready/,
    timeoutMs: 30_000,
  });
}

async function populate(env: CliEnv, s: LabState): Promise<Map<HostName, string>> {
  const dcHome = hostHome(s, "dc1");
  await posternHere(env, dcHome, [
    "domain",
    "group",
    "add",
    "trusted",
    "--description",
    "may bypass server1's firewall",
  ]);
  const tokens = new Map<HostName, string>();
  for (const h of HOSTS.filter((x) => x.member)) {
    const out = await posternHere(env, dcHome, [
      "domain",
      "computer",
      "add",
      h.name,
      "--join-token",
    ]);
    tokens.set(h.name, tokenOf(out, h.name));
  }
  await posternHere(env, dcHome, ["net", "group", "trusted", "xpclient$", "/add", "/domain"]);
  return tokens;
}

async function join(s: LabState, tokens: Map<HostName, string>): Promise<void> {
  const dc = host("dc1");
  const joins = HOSTS.filter((x) => x.member).map((h) =>
    mustAsync(namespaceOf(s.id, h.name), [
      ...posternArgv(),
      "--home",
      hostHome(s, h.name),
      "join",
      "--domain",
      DOMAIN,
      "--dc",
      dc.address,
      "--name",
      h.name,
      "--token",
      tokens.get(h.name) as string,
      "--address",
      h.address,
    ]),
  );
  await Promise.all(joins);
}

/** The article's IPsec policies: server1's, and the client's on xpclient and client2. */
export async function configureIpsec(env: CliEnv, s: LabState): Promise<void> {
  const script = (name: string) => ["netsh", "-f", path.join(examplesDir(), name)];
  await posternHere(env, hostHome(s, "server1"), script("article-server.netsh"));
  for (const c of ["xpclient", "client2"] as const)
    await posternHere(env, hostHome(s, c), script("article-client.netsh"));
  if (s.sign === "esp-null")
    for (const h of ["server1", "xpclient", "client2"] as const)
      await posternHere(env, hostHome(s, h), [...ESP_NULL_SIGN]);
}

async function configure(env: CliEnv, s: LabState): Promise<void> {
  const server = namespaceOf(s.id, "server1");
  const script = (name: string) => ["netsh", "-f", path.join(examplesDir(), name)];
  await configureIpsec(env, s);
  // In server1's namespace: `add bypass name=trusted` asks the DC for the group's SID.
  await mustAsync(server, [
    ...posternArgv(),
    "--home",
    hostHome(s, "server1"),
    ...script("article-firewall.netsh"),
  ]);
}

/**
 * The agent of lab host `name`, started and ready (its log: <lab>/<name>-agent.log);
 * `extra`: more agent options (check's immediate-revocation cell).
 */
export function startAgent(
  home: string,
  s: LabState,
  name: HostName,
  extra: readonly string[] = [],
): Promise<number> {
  return startDaemon(s, home, {
    name: `${name}-agent`,
    ns: namespaceOf(s.id, name),
    argv: [
      ...posternArgv(),
      "--home",
      hostHome(s, name),
      "agent",
      "--address",
      host(name).address,
      // /metrics on the namespace's own loopback, 127.0.0.1:9851 (docs/lab.md).
      "--metrics",
      "on",
      ...extra,
    ],
    // text or JSON (--log-format json): "agent: ready: ..." or "component":"agent","msg":"ready: ..."
    ready: /agent: ready|"component":"agent","msg":"ready/,
    timeoutMs: 30_000,
  });
}

export async function startHosts(home: string, s: LabState): Promise<void> {
  const server = host("server1");
  const web = startDaemon(s, home, {
    name: "server1-web",
    ns: namespaceOf(s.id, "server1"),
    argv: [...posternArgv(), "lab", "web", "--address", server.address, "--port", `${WEB_PORT}`],
    ready: /web: ready/,
    timeoutMs: 10_000,
  });
  const sh = hostHome(s, "server1");
  const fwlog = startDaemon(s, home, {
    name: "server1-fwlog",
    ns: namespaceOf(s.id, "server1"),
    argv: [...posternArgv(), "--home", sh, "firewall", "log"],
    ready: /firewall log: writing/,
    timeoutMs: 10_000,
  });
  const agents = HOSTS.filter((x) => x.agent).map((h) => startAgent(home, s, h.name));
  await Promise.all([web, fwlog, ...agents]);
}

/** A new lab's state, saved before anything is made (refused when a lab is up here). */
export function newLabState(home: string, dc: LabDc, sign: LabSign = "ah"): LabState {
  const old = loadLabState(home);
  if (old !== null)
    throw new PosternError(
      "lab",
      `a lab is already up here (id ${old.id}); run \`postern lab down\` first`,
    );
  const s: LabState = {
    id: `pl${randomBytes(2).toString("hex")}`,
    dir: labDir(home),
    namespaces: [],
    processes: [],
    createdAt: new Date().toISOString(),
    sign,
    ...(dc === "samba" ? { dc } : {}),
  };
  saveLabState(home, s);
  return s;
}

export async function labUp(
  env: CliEnv,
  progress: Progress,
  sign: LabSign = "ah",
): Promise<LabState> {
  const s = newLabState(env.home, "postern", sign);
  await step(progress, `network: switch and 5 namespaces (${s.id}-*), 198.18.0.0/24`, () =>
    buildNetwork(env.home, s),
  );
  await step(progress, `dc1: domain ${DOMAIN} created, DC running (DNS, KDC, API)`, () =>
    startDc(env, env.home, s),
  );
  const tokens = await step(
    progress,
    "directory: group trusted, 3 computers, xpclient$ in trusted",
    () => populate(env, s),
  );
  await step(progress, "server1, xpclient, client2 joined the domain", () => join(s, tokens));
  await step(
    progress,
    `article's netsh scripts run (IPsec policies signing with ${sign === "ah" ? "AH[SHA1]" : "ESP[None,SHA1]"}, server1's firewall)`,
    () => configure(env, s),
  );
  await step(
    progress,
    "server1's website and the agents of server1, xpclient, client2 running",
    () => startHosts(env.home, s),
  );
  return s;
}
