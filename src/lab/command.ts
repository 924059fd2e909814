/**
 * `postern lab up|check|down`: the article's network in namespaces (src/lab/*.ts).
 */
import type { Command } from "../cmdline/env.js";
import { PosternError, UsageError } from "../errors.js";
import { type Cell, formatMatrix, labCheck } from "./check.js";
import { labDown } from "./down.js";
import { loadLabState } from "./state.js";
import { labUp } from "./up.js";
import { fetchPage, serveWeb } from "./web.js";

const HELP = `postern lab - the article's network, built and checked for real (root)

SYNOPSIS
  postern [--home DIR] lab up
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
check   fetches http://198.18.0.20/ from each client and prints the access matrix with
        the reason of each cell, read from server1's agent (IKE SAs, bypass decisions),
        its IPsec drop counters, pfirewall.log and a capture of xpclient's wire; then the
        membership change: xpclient removed from "trusted" is still served (its ticket
        still says trusted), and after \`postern klist --machine purge\` on xpclient it is
        blocked. Exit 1 when any cell differs from the article's.
down    stops every process of the lab's namespaces and removes the namespaces and
        <home>/lab/, also after a crash or a half-finished \`up\`.

npm start runs setup, lab up, lab check and lab down with a temporary home.
`;

function flagValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined) throw new UsageError(`lab: ${name} needs a value`);
  return v;
}

export const labCommand: Command = {
  name: "lab",
  summary: "build, check and remove the article's network in namespaces (up|check|down)",
  help: HELP,
  async run(argv, env) {
    const [sub, ...rest] = argv;
    const progress = (l: string) => env.err(l);
    const needRoot = () => {
      if (!env.isRoot)
        throw new PosternError("lab", "postern lab needs root (namespaces, nftables, TUN)");
    };
    switch (sub) {
      case "up": {
        needRoot();
        const old = loadLabState(env.home);
        if (old !== null)
          throw new PosternError(
            "lab",
            `a lab is already up here (id ${old.id}); run \`postern lab down\` first`,
          );
        try {
          await labUp(env, progress);
        } catch (e) {
          progress(`lab: up failed: ${(e as Error).message}; taking down what was made`);
          await labDown(env, progress);
          throw e;
        }
        env.out("lab: up");
        return 0;
      }
      case "check": {
        needRoot();
        const cells: Cell[] = await labCheck(env, progress);
        const bad = cells.filter((c) => c.actual !== c.expected);
        if (env.json) env.out(JSON.stringify({ ok: bad.length === 0, cells }, null, 2));
        else {
          env.out(formatMatrix(cells));
          env.out(
            bad.length === 0
              ? `lab: check passed: all ${cells.length} cells as the article says`
              : `lab: check FAILED: ${bad.length} of ${cells.length} cells differ`,
          );
        }
        return bad.length === 0 ? 0 : 1;
      }
      case "down":
        needRoot();
        await labDown(env, progress);
        return 0;
      case "web": {
        const address = flagValue(rest, "--address") ?? "0.0.0.0";
        const port = Number(flagValue(rest, "--port") ?? "80");
        if (!Number.isInteger(port) || port < 1 || port > 65535)
          throw new UsageError(`lab web: --port ${port} is not a port`);
        await serveWeb(address, port);
        return 0;
      }
      case "fetch": {
        const url = rest[0];
        if (!url || url.startsWith("--")) throw new UsageError("lab fetch: give a URL");
        const t = Number(flagValue(rest, "--timeout-ms") ?? "5000");
        if (!Number.isInteger(t) || t < 1) throw new UsageError("lab fetch: --timeout-ms N");
        env.out(JSON.stringify(await fetchPage(url, t)));
        return 0;
      }
      default:
        throw new UsageError(
          `lab: expected up, check or down${sub ? `, not '${sub}'` : ""} (see postern lab --help)`,
        );
    }
  },
};
