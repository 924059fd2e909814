/**
 * `postern ipseccmd ...`: Windows XP SP2's ipseccmd (Support Tools) on the same policy
 * store and SA monitor as netsh.
 * 1. parse the switches (switches.ts; filter specs in filterspec.ts) - bad input is one
 *    line naming the switch, exit 2;
 * 2. static mode: -w REG changes the local store, -w DS the directory (apply.ts);
 * 3. dynamic mode (no -w): the rule goes into the running agent's policy (dynamic.ts);
 * 4. query mode (show ...): ask the agent's monitor (show.ts).
 * createIpseccmd(deps) takes the clock, randomness and the agent request function.
 */
import type { CliEnv } from "../../cmdline/env.js";
import { newGuid } from "../../policy/defaults.js";
import type { AgentRequest } from "../ipsec-dynamic/index.js";
import { runStatic } from "./apply.js";
import { runDynamic } from "./dynamic.js";
import { runShow } from "./show.js";
import { parseIpseccmd } from "./switches.js";

export interface IpseccmdDeps {
  now: () => Date;
  random: (n: number) => Uint8Array;
  request: AgentRequest;
}

export const IPSECCMD_HELP = `postern ipseccmd - Windows XP's ipseccmd (Support Tools) on postern's policy store

SYNOPSIS
  postern ipseccmd -w REG|DS -p "POLICY[:POLL]" [-r "RULE"] -f FILTER... [-n NEG...]
                   [-a AUTH...] [-t TUNNEL] [-1s MMSEC...] [-1k NQ/NS] [-1p] [-1e SEC]
                   [-soft] [-dialup|-lan] [-x|-y]
  postern ipseccmd -w REG|DS -p POLICY (-x | -y | -o)
  postern ipseccmd -f FILTER... [-n NEG...] [-a AUTH...] [-t TUNNEL] [-1s ...] [-soft]
  postern ipseccmd -u [-confirm]
  postern ipseccmd show filters|policies|auth|stats|sas|all ...

FILTERS (-f), separated by blanks
  SRC=DST one way, SRC+DST mirrored; SRC is ADDR[/MASK][:PORT], DST ADDR[/MASK][:PORT][:PROTO]
  ADDR: 0 = this computer, * = any, A.B.C.D, a DNS name; MASK: A.B.C.D or 0-32
  PROTO: TCP, UDP, ICMP, RAW or 0-255 (::PROTO without a port)
  (SPEC) pass-through, [SPEC] blocking        e.g. -f "*+0:80:TCP"

NEGOTIATION (-n)
  ESP[Conf,Auth] AH[Hash] AH[Hash]+ESP[Conf,Auth], each optionally NK/NS and PFS;
  PASS, BLOCK, INPASS. SHA means SHA1; DES and MD5 are refused.
AUTHENTICATION (-a)   K (Kerberos), P:"preshared key", C:"CA name"
MAIN MODE             -1s Conf-Hash-Group (3DES-SHA-2), -1k NQ/NS, -1p (PFS)

STATIC MODE
  -w REG is this computer's store (what netsh ipsec static shows); -p names the policy
  (created if new) and its polling interval in minutes; -r the rule (created or replaced);
  -x assigns the policy, -y unassigns it, -o deletes it.
  -w DS[:DOMAIN] is the domain's directory store, on the DC (netsh ipsec static set store
  location=domain); there a GPO assigns the policy, so -x and -y are ignored.

DYNAMIC MODE (no -w)
  The rule goes straight into the running agent's policy, ahead of every stored rule
  (named "dynamic: ipseccmd rule N"), until the agent stops: it is never stored in the
  local store, and the agent deletes it when it starts. No agent running: refused.
  -u deletes every dynamic rule; -confirm is accepted (there is no prompt).
  ipseccmd show filters (or netsh ipsec dynamic show qmfilter) lists them.

EXAMPLE (the article's server policy)
  postern ipseccmd -w REG -p "Secure website (server1)" -r "Secure web" \\
    -f "*+0:80:TCP" -n "ESP[NONE,SHA]" -a K -x
`;

export function createIpseccmd(deps: IpseccmdDeps) {
  return async (argv: string[], env: CliEnv): Promise<number> => {
    if (argv.length === 0 || ["-h", "--help", "-?", "/?"].includes(argv[0] as string)) {
      env.out(IPSECCMD_HELP);
      return argv.length === 0 ? 2 : 0;
    }
    const warn = (m: string) => env.err(m);
    const req = parseIpseccmd(argv, warn);
    const apply = {
      guid: () => newGuid(deps.random),
      stamp: () => deps.now().toISOString(),
      warn,
    };
    switch (req.mode) {
      case "show":
        await runShow(env, req.what, deps.request);
        return 0;
      case "dynamic":
        await runDynamic(env, req, apply, deps.request);
        return 0;
      case "static":
        await runStatic(env, req, apply);
        return 0;
    }
  };
}
