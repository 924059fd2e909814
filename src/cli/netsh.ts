import { UsageError } from "../errors.js";
import { NETSH_CONTEXTS } from "../netsh/contexts.js";
import { createNetshShell } from "../netsh/shell.js";
import { defineCommand } from "../cmdline/grammar.js";

export const netshCommand = defineCommand({
  name: "netsh",
  summary: "the administrator's language: netsh ipsec static|dynamic, netsh firewall",
  help: `postern netsh - run netsh commands, as on Windows Server 2003

SYNOPSIS
  postern netsh CONTEXT VERB OBJECT [tag=]value ... [--json]
  postern netsh -f SCRIPT

CONTEXTS
  ipsec static     IPsec policies in the store (local or domain)
  ipsec dynamic    the live security policy database and SAs of the agent
  firewall         Windows Firewall settings, compiled to nftables

PARSING (as netsh)
  Keywords and tags are case-insensitive. A tag may be shortened to any unambiguous prefix
  (srca= for srcaddr=, mir= for mirrored=). Tags may be omitted when the values come in the
  command's order. Values with blanks go in double quotes.

SCRIPTS
  -f SCRIPT runs one command per line. Lines starting with # are comments. "pushd ipsec
  static" makes later lines relative to that context; "popd" returns. The script stops at
  the first error, which is printed as SCRIPT:LINE: message.

OPTIONS
  --json           show commands print JSON
  --home DIR       state directory (default $POSTERN_HOME or /var/lib/postern)

EXAMPLES
  postern netsh ipsec static add filterlist name="Web"
  postern netsh ipsec static add filter filterl=Web srca=any dsta=me proto=tcp dstport=80 mir=yes
  postern netsh -f examples/article-server.netsh
`,
  async raw(argv, env) {
    const shell = createNetshShell(NETSH_CONTEXTS);
    if (argv[0] === "-f") {
      const file = argv[1];
      if (!file || argv.length > 2)
        throw new UsageError("netsh -f: expected exactly one script file");
      await shell.runScript(file, env);
      return 0;
    }
    if (argv.length === 0 || argv[0] === "-h" || argv[0] === "--help") {
      env.out(netshCommand.help);
      return argv.length === 0 ? 2 : 0;
    }
    await shell.runTokens(argv, env);
    return 0;
  },
});
