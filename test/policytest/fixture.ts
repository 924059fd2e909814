/**
 * The article's domain for the policy-test suites, made with postern's own commands on a
 * DC home (through the admin socket when its DC runs, else on the database): computers
 * server1 (.20), xpclient (.30, in `trusted`), client2 (.31); GPO "Web servers" linked to
 * group webservers (server1: the article's server policy and firewall, bypass for
 * trusted), GPO "Web clients" linked to webclients (xpclient, client2: the article's client
 * policy); the stores are what examples/article-*.netsh write. Imported only.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { defaultSettings, type FirewallSettings } from "../../src/firewall/model.js";
import { cli } from "../helpers/cli.js";

const EXAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../examples");

export const MATRIX = `# the article's lab: xpclient must reach, client2 and the outsider must not
XPCLIENT$    server1  tcp/80  reach
CLIENT2$     server1  tcp/80  not-reach
198.18.0.40  server1  tcp/80  not-reach
`;

export async function must(home: string, ...args: string[]): Promise<string> {
  const r = await cli(home, ...args);
  if (r.code !== 0) throw new Error(`postern ${args.join(" ")}: exit ${r.code}: ${r.err}`);
  return r.out;
}

/** The IPsec store an article script leaves in a scratch home's local store. */
async function storeOf(scratch: string, script: string): Promise<string> {
  const home = path.join(scratch, script);
  fs.mkdirSync(home, { recursive: true });
  await must(home, "netsh", "-f", path.join(EXAMPLES, script));
  return path.join(home, "ipsec", "local-store.json");
}

export interface ArticleDomain {
  trustedSid: string;
  /** Firewall settings files for server1: the article's, then variants. */
  firewall: { article: string; openPort80: string; noBypass: string };
}

export async function articleDomain(home: string, scratch: string): Promise<ArticleDomain> {
  for (const c of ["server1", "xpclient", "client2"])
    await must(home, "domain", "computer", "add", c);
  for (const g of ["trusted", "webservers", "webclients"])
    await must(home, "domain", "group", "add", g);
  await must(home, "domain", "group", "add-member", "trusted", "XPCLIENT$");
  await must(home, "domain", "group", "add-member", "webservers", "SERVER1$");
  await must(home, "domain", "group", "add-member", "webclients", "XPCLIENT$");
  await must(home, "domain", "group", "add-member", "webclients", "CLIENT2$");
  for (const [h, a] of [
    ["server1", "198.18.0.20"],
    ["xpclient", "198.18.0.30"],
    ["client2", "198.18.0.31"],
  ] as const)
    await must(home, "domain", "dns", "add", `${h}.bigfirm.com`, a);
  const groups = JSON.parse(await must(home, "--json", "domain", "group", "list")) as {
    name: string;
    sid: string;
  }[];
  const trustedSid = groups.find((g) => g.name === "trusted")?.sid as string;
  const write = (name: string, change: (s: FirewallSettings) => void) => {
    const s = defaultSettings();
    s.logging.droppedPackets = true;
    s.bypass = [{ sid: trustedSid, name: "trusted" }];
    change(s);
    const file = path.join(scratch, name);
    fs.writeFileSync(file, JSON.stringify(s));
    return file;
  };
  const firewall = {
    article: write("fw-article.json", () => {}),
    openPort80: write("fw-open80.json", (s) => {
      s.profiles.standard.portOpenings.push({
        name: "web",
        protocol: "tcp",
        port: 80,
        scope: "all",
        addresses: [],
        enabled: true,
      });
    }),
    noBypass: write("fw-nobypass.json", (s) => {
      s.bypass = [];
    }),
  };
  await must(home, "domain", "gpo", "create", "Web servers");
  await must(home, "domain", "gpo", "create", "Web clients");
  await must(home, "domain", "gpo", "link", "Web servers", "webservers");
  await must(home, "domain", "gpo", "link", "Web clients", "webclients");
  const server = await storeOf(scratch, "article-server.netsh");
  const client = await storeOf(scratch, "article-client.netsh");
  await must(home, "domain", "gpo", "set", "Web servers", "--ipsec-file", server);
  await must(home, "domain", "gpo", "set", "Web servers", "--firewall-file", firewall.article);
  await must(home, "domain", "gpo", "set", "Web clients", "--ipsec-file", client);
  const matrix = path.join(scratch, "matrix.txt");
  fs.writeFileSync(matrix, MATRIX);
  await must(home, "domain", "gpo", "set-expect", "Web servers", "--file", matrix);
  return { trustedSid, firewall };
}
