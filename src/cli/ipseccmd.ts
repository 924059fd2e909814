/** `postern ipseccmd`: XP's ipseccmd switches (src/netsh/ipseccmd/), with its own parser. */
import { defineCommand } from "../cmdline/grammar.js";
import { randomBytes } from "../crypto/primitives.js";
import { realRequest } from "../netsh/ipsec-dynamic/index.js";
import { createIpseccmd, IPSECCMD_HELP } from "../netsh/ipseccmd/index.js";

const run = createIpseccmd({ now: () => new Date(), random: randomBytes, request: realRequest });

export const ipseccmdCommand = defineCommand({
  name: "ipseccmd",
  summary: "Windows XP's ipseccmd: static policies in the store, show filters|sas|stats",
  help: IPSECCMD_HELP,
  raw: (argv, env) => run(argv, env),
});
