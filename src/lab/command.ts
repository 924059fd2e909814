/**
 * `postern lab up|check|down`: the article's network in namespaces (src/lab/*.ts).
 */
import type { CliEnv } from "../cmdline/env.js";
import { defineCommand, type Parsed } from "../cmdline/grammar.js";
import { PosternError } from "../errors.js";
import { type Cell, formatMatrix, labCheck } from "./check.js";
import { labDown } from "./down.js";
import { haveSamba } from "./samba.js";
import { formatSources, policySources } from "./gpo-policy.js";
import { type LabSign, loadLabState, type PolicyFrom } from "./state.js";
import { labUp } from "./up.js";
import { labUpSamba } from "./up-samba.js";
import { fetchPage, serveWeb } from "./web.js";

const HELP = `postern lab - the article's network, built and checked for real (root)

SYNOPSIS
  postern [--home DIR] lab up [--dc postern|samba] [--sign ah|esp-null] [--policy-from gpo|local]
  postern [--home DIR] [--json] lab check
  postern [--home DIR] lab down
  postern lab web --address A --port N       (server1's website; the lab starts it)
  postern lab fetch URL [--timeout-ms N]     (a client's request; the lab runs it)

up      builds the network of Minasi's article in network namespaces on one isolated
        bridge (domain bigfirm.com, 198.18.0.0/24, no default route): dc1 .10 (DC: DNS,
        KDC, API), server1 .20 (the secure website on TCP 80, its firewall, its agent),
        xpclient .30 (member of the group "trusted"), client2 .31 (member, not in
        "trusted"), outsider .40 (not a member). The members join with one-time tokens,
        and the policies come from the article's netsh scripts in examples/
        (article-server.netsh, article-client.netsh, article-firewall.netsh). The lab's
        state (hosts' homes, logs, what was made) is in <home>/lab/.
        --sign ah (the default) signs the web traffic with AH[SHA1], IP protocol 51, as
        the article's "Digitally sign" action did on Windows 2003; --sign esp-null
        switches the "sign" action to ESP[None,SHA1] (ESP with NULL encryption in UDP
        4500, which passes NAT) with \`netsh ipsec static set filteraction name=sign
        qmsecmethods=ESP[None,SHA1]\` on each host.
        --dc samba: the domain is Active Directory instead: dc1 a Samba AD DC and dc2
        (.11) a second Samba DC joined to it, replicating, both in the domain's DNS SRV
        records; the members are pre-staged computer accounts whose exported keytabs
        the lab installs (machine.json kind "ad"), and server1's bypass SDDL names the
        SID of trusted (docs/lab.md "The lab on Samba AD").
        --policy-from gpo (the default with --dc samba): the policies come from Group
        Policy, as in the article: the same scripts run as the domain administrator on
        the domain's store (\`set store location=domain\`, \`assign=yes gponame=G\`,
        \`store=domain gponame=G\`) write the IPsec policies into AD, assigned in GPOs
        linked to OU=Servers (server1) and OU=Clients (xpclient, client2), and
        server1's firewall with the bypass into a GPO's Registry.pol linked to
        OU=Servers; each member then runs \`postern gpupdate\`. --policy-from local: each
        host runs the scripts on its own store, as with --dc postern (which has no
        other choice).
check   fetches http://198.18.0.20/ from each client and prints the access matrix with
        the reason of each cell, read from server1's agent (IKE SAs, bypass decisions),
        its IPsec drop counters, pfirewall.log and a capture of xpclient's wire (AH, or
        ESP-in-UDP with esp-null, and no unprotected TCP 80); then the
        membership change: xpclient removed from "trusted" is still served (its ticket
        still says trusted), and after \`postern klist --machine purge\` on xpclient it is
        blocked. On a Samba lab one more cell: dc1 stopped, xpclient purges its
        tickets and gets new ones from dc2, and is still served; client2 still blocked
        (dc1 is started again after). When the policies came from GPOs, the GPOs that
        gave each member its IPsec policy and firewall settings are printed after the
        matrix ("policy" in --json). Exit 1 when any cell differs from the article's.
down    stops every process of the lab's namespaces (Samba's DCs too) and removes the
        namespaces, their /etc/netns/ resolvers and <home>/lab/, also after a crash or a
        half-finished \`up\`.

npm start runs setup, lab up, lab check and lab down with a temporary home.
`;

function needRoot(env: CliEnv): void {
  if (!env.isRoot)
    throw new PosternError("lab", "postern lab needs root (namespaces, nftables, TUN)");
}

function policyFromOf(p: Parsed, dc: string): PolicyFrom {
  const v = p.str("policy-from") ?? (dc === "samba" ? "gpo" : "local");
  if (v !== "gpo" && v !== "local")
    throw new PosternError("lab", `--policy-from: '${v}' is not gpo or local`);
  if (v === "gpo" && dc !== "samba")
    throw new PosternError(
      "lab",
      "--policy-from gpo needs --dc samba (postern's DC has its own policy path)",
    );
  return v;
}

function signOf(p: Parsed): LabSign {
  const v = p.str("sign") ?? "ah";
  if (v !== "ah" && v !== "esp-null")
    throw new PosternError("lab", `--sign: '${v}' is not ah or esp-null`);
  return v;
}

async function up(p: Parsed, env: CliEnv): Promise<number> {
  const sign = signOf(p);
  needRoot(env);
  const dc = p.str("dc") ?? "postern";
  if (dc !== "postern" && dc !== "samba")
    throw new PosternError("lab", `--dc ${dc}: expected postern or samba`);
  const policyFrom = policyFromOf(p, dc);
  if (dc === "samba" && !haveSamba())
    throw new PosternError(
      "lab",
      "--dc samba needs Samba's AD DC (Debian samba, samba-ad-dc, samba-ad-provision: scripts/setup.sh)",
    );
  const progress = (l: string) => env.err(l);
  const old = loadLabState(env.home);
  if (old !== null)
    throw new PosternError(
      "lab",
      `a lab is already up here (id ${old.id}); run \`postern lab down\` first`,
    );
  try {
    await (dc === "samba"
      ? labUpSamba(env, progress, sign, policyFrom)
      : labUp(env, progress, sign));
  } catch (e) {
    progress(`lab: up failed: ${(e as Error).message}; taking down what was made`);
    await labDown(env, progress);
    throw e;
  }
  env.out("lab: up");
  return 0;
}

async function check(_p: Parsed, env: CliEnv): Promise<number> {
  needRoot(env);
  const cells: Cell[] = await labCheck(env, (l) => env.err(l));
  const bad = cells.filter((c) => c.actual !== c.expected);
  // where the members' policies came from, when from GPOs (the Samba lab)
  const s = loadLabState(env.home);
  const policy = s?.policyFrom === "gpo" ? policySources(s) : undefined;
  if (env.json)
    env.out(
      JSON.stringify({ ok: bad.length === 0, cells, ...(policy ? { policy } : {}) }, null, 2),
    );
  else {
    env.out(formatMatrix(cells));
    if (policy) env.out(formatSources(policy));
    env.out(
      bad.length === 0
        ? `lab: check passed: all ${cells.length} cells as the article says`
        : `lab: check FAILED: ${bad.length} of ${cells.length} cells differ`,
    );
  }
  return bad.length === 0 ? 0 : 1;
}

export const labCommand = defineCommand({
  name: "lab",
  summary: "build, check and remove the article's network in namespaces (up|check|down)",
  help: HELP,
  subcommands: [
    {
      name: "up",
      summary: "build the article's network in namespaces (root)",
      options: [
        {
          name: "sign",
          type: "string",
          value: "ah|esp-null",
          help: "how the web traffic is signed: AH[SHA1] (default) or ESP[None,SHA1]",
        },
        {
          name: "dc",
          type: "string",
          value: "KIND",
          help: "the domain's DCs: postern (default: postern's DC) or samba (two Samba AD DCs)",
        },
        {
          name: "policy-from",
          type: "string",
          value: "gpo|local",
          help: "Samba lab: the policies from GPOs via gpupdate (default) or each host's netsh",
        },
      ],
      run: up,
    },
    {
      name: "check",
      summary: "fetch the website from each client, print the access matrix",
      run: check,
    },
    {
      name: "down",
      summary: "stop the lab's processes, remove its namespaces (root)",
      async run(_p, env) {
        needRoot(env);
        await labDown(env, (l) => env.err(l));
        return 0;
      },
    },
    {
      name: "web",
      summary: "server1's website (the lab starts it)",
      options: [
        { name: "address", type: "string", value: "A", help: "listen address (default 0.0.0.0)" },
        { name: "port", type: "string", value: "N", help: "TCP port (default 80)" },
      ],
      async run(p) {
        await serveWeb(p.str("address") ?? "0.0.0.0", p.int("port", 80, 1, 65535));
        return 0;
      },
    },
    {
      name: "fetch",
      summary: "a client's request (the lab runs it)",
      args: "URL",
      options: [
        {
          name: "timeout-ms",
          type: "string",
          value: "N",
          help: "give up after N ms (default 5000)",
        },
      ],
      async run(p, env) {
        const t = p.int("timeout-ms", 5000, 1, 3_600_000);
        env.out(JSON.stringify(await fetchPage(p.positionals[0] as string, t)));
        return 0;
      },
    },
  ],
});
