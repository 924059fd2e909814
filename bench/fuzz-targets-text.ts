/**
 * Fuzz targets of text an administrator or a file hands us:
 * - sddl: the bypass SDDL (`O:DAG:DAD:(A;;RCGW;;;SID)...`, Group Policy's form) into
 *   parseBypassSddl; an accepted SDDL formats back to one that parses to the same SIDs.
 * - netsh: netsh scripts (`postern netsh -f FILE`) run by the real shell with the real
 *   ipsec static, ipsec dynamic and firewall contexts over a temporary home: tokenizer,
 *   pushd/popd, tag parsing, every command's validation and the store it saves. Not as root
 *   (no nftables), a fake agent and name resolver, and export/import only inside the home.
 * - policy-file: the files the policy commands read: `importpolicy` export documents and
 *   the local store (`<home>/ipsec/local-store.json`), through their validators.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { CliEnv } from "../src/cmdline/env.js";
import { PosternError, UsageError } from "../src/errors.js";
import { createMapResolver } from "../src/firewall/principals.js";
import { settingsFile } from "../src/firewall/store.js";
import { validateSettings } from "../src/firewall/validate.js";
import {
  kdcsOf,
  libdefaultBool,
  libdefaultInt,
  parseDuration,
  parseKrb5Conf,
  realmOfHost,
} from "../src/kerberos/config.js";
import { formatBypassSddl, parseBypassSddl } from "../src/firewall/sddl.js";
import { createFirewallHandler } from "../src/netsh/firewall/index.js";
import { createIpsecDynamic } from "../src/netsh/ipsec-dynamic/index.js";
import { createIpsecStatic } from "../src/netsh/ipsec-static/index.js";
import { createNetshShell, type NetshHandler } from "../src/netsh/shell.js";
import { exportDocument, parseExportDocument } from "../src/policy/exportfile.js";
import { loadLocalStore } from "../src/policy/store.js";
import { validateStore } from "../src/policy/validate.js";
import { mutateText } from "./fuzz-mutate.js";
import { fuzzHome } from "./fuzz-targets-dc.js";
import { ContractViolation, canonical, type FuzzInstance } from "./fuzz-target.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXAMPLES = path.resolve(HERE, "../../examples");

const TRUSTED = "S-1-5-21-1004336348-1177238915-682003330-1105";

export function createSddlTarget(): FuzzInstance {
  const seeds = [
    formatBypassSddl([TRUSTED]),
    formatBypassSddl([TRUSTED, "S-1-5-21-1-2-3-512", "S-1-5-32-544"]),
    "O:DAG:DAD:",
    `D:P(A;;RCGW;;;${TRUSTED})`,
    `O:BAG:BAD:AI(A;;RCGW;;;${TRUSTED})(A;;RCGW;;;S-1-5-11)S:`,
    "O:DAG:DAD:(A;;RCGW;;;S-1-5-21-4294967295-0-1-4294967295)",
  ];
  const dict = [
    "O:",
    "G:",
    "D:",
    "S:",
    "(",
    ")",
    ";",
    "A;;RCGW;;;",
    "S-1-5-",
    "-",
    "P",
    "AI",
    "DA",
    "BA",
  ];
  return {
    generate: (r) => mutateText(r.pick(seeds), r, dict, seeds),
    run(input) {
      const sids = parseBypassSddl(input as string);
      let again: string[];
      try {
        again = parseBypassSddl(formatBypassSddl(sids));
      } catch (e) {
        throw new ContractViolation(`formatted SDDL does not parse: ${String(e)}`);
      }
      if (canonical(again) !== canonical(sids))
        throw new ContractViolation("SDDL round trip differs");
      return "accepted";
    },
  };
}

function env(home: string): CliEnv {
  return { home, json: false, out: () => {}, err: () => {}, vars: {}, isRoot: false, cwd: home };
}

/** Export and import only with plain file names (inside the home): the harness writes nowhere else. */
function confined(inner: NetshHandler): NetshHandler {
  return (tokens, e) => {
    const verb = (tokens[0] ?? "").toLowerCase();
    const fileVerb =
      verb !== "" && ("exportpolicy".startsWith(verb) || "importpolicy".startsWith(verb));
    if (fileVerb && tokens.some((t) => /[/\\]|\.\./.test(t)))
      throw new UsageError("fuzz harness: export/import only inside the home");
    return inner(tokens, e);
  };
}

const SCRIPT_EXTRA = `pushd ipsec static
set store location=local
show policy all
show filterlist name=all level=verbose resolvedns=yes
exportpolicy file=out.ipsec
delete all
importpolicy file=out.ipsec
set policy name="Secure website (server1)" assign=no
set rule name="Secure web" policy="Secure website (server1)" psk="not so secret" rootca="C=US, O=Bigfirm" kerberos=no
add filter filterlist="Secure web (server)" srcaddr=198.18.0.0 srcmask=24 dstaddr=server1.bigfirm.com protocol=17 srcport=500 dstport=500 mirrored=no
add filteraction name="legacy" action=negotiate qmsecmethods="AH[MD5] ESP[DES,SHA1]:100000k/3600s ESP[AES256,SHA256]" qmpfs=yes
popd
ipsec dynamic show qmsas
ipsec dynamic show stats type=ike
firewall set portopening protocol=TCP port=8080 name="web alt" mode=enable scope=CUSTOM addresses=198.18.0.0/24,LocalSubnet
firewall set icmpsetting type=8 mode=enable
firewall set bypass sddl="O:DAG:DAD:(A;;RCGW;;;${TRUSTED})"
firewall delete bypass name=trusted
firewall show config verbose=enable
`;

function netshSeeds(): string[] {
  const files = fs.existsSync(EXAMPLES)
    ? fs.readdirSync(EXAMPLES).filter((f) => f.endsWith(".netsh"))
    : [];
  return [...files.map((f) => fs.readFileSync(path.join(EXAMPLES, f), "utf8")), SCRIPT_EXTRA];
}

function netshShell() {
  const ipsecStatic = createIpsecStatic({
    now: () => new Date(Date.UTC(2026, 11, 6)),
    random: (n) => Buffer.alloc(n, 7),
    resolve: async (name) => (name.startsWith("server1") ? ["198.18.0.20"] : []),
  });
  const dynamic = createIpsecDynamic(async () => {
    throw new PosternError("agent-down", "the agent is not running (fuzz harness)");
  });
  const firewall = createFirewallHandler({
    resolver: () => createMapResolver({ trusted: TRUSTED, XPCLIENT$: "S-1-5-21-1-2-3-1104" }),
  });
  return createNetshShell([
    { words: ["ipsec", "static"], handler: confined(ipsecStatic) },
    { words: ["ipsec", "dynamic"], handler: dynamic },
    { words: ["firewall"], handler: firewall },
  ]);
}

const NETSH_DICT = [
  "\n",
  "pushd ipsec static\n",
  "popd\n",
  "pushd firewall\n",
  "add ",
  "set ",
  "delete ",
  "show ",
  "name=",
  "policy=",
  "filterlist=",
  "srcaddr=",
  "dstmask=",
  "protocol=",
  "qmsecmethods=",
  '"',
  "=",
  "yes",
  "no",
  "any",
  "me",
  "ESP[AES128,SHA256]",
  "AH[SHA1]+ESP[None,SHA1]",
  ":1k/1s",
  "0.0.0.0",
  "::1",
  "/33",
  "#",
  "rem ",
];

export function createNetshTarget(): FuzzInstance {
  const home = fuzzHome("netsh");
  const shell = netshShell();
  const seeds = netshSeeds();
  const script = path.join(home.dir, "fuzz.netsh");
  const e = env(home.dir);
  const reset = () => {
    for (const f of fs.readdirSync(home.dir))
      fs.rmSync(path.join(home.dir, f), { recursive: true, force: true });
  };
  return {
    generate(r) {
      const seed = r.pick(seeds);
      // a slice of a seed script (whole scripts are long), then mutations
      const lines = seed.split("\n");
      const from = r.chance(0.3) ? 0 : r.int(lines.length);
      const text = lines.slice(from, from + 1 + r.int(r.chance(0.2) ? lines.length : 6)).join("\n");
      const pre =
        from > 0 && r.chance(0.5) ? `${r.pick(["pushd ipsec static", "pushd firewall"])}\n` : "";
      return mutateText(pre + text, r, NETSH_DICT, seeds);
    },
    async run(input) {
      reset();
      fs.writeFileSync(script, input as string);
      await shell.runScript("fuzz.netsh", e);
      return "accepted" as const;
    },
    close() {
      home.cleanup();
    },
  };
}

export async function createPolicyFileTarget(): Promise<FuzzInstance> {
  const home = fuzzHome("policy");
  const shell = netshShell();
  const e = env(home.dir);
  for (const s of netshSeeds()) {
    fs.writeFileSync(path.join(home.dir, "seed.netsh"), s);
    try {
      await shell.runScript("seed.netsh", e);
    } catch {
      // a seed line may need what the harness leaves out; the store keeps what ran
    }
  }
  const store = loadLocalStore(home.dir);
  const exported = exportDocument(store, new Date(Date.UTC(2026, 11, 6)));
  const storeText = fs.readFileSync(path.join(home.dir, "ipsec", "local-store.json"), "utf8");
  home.cleanup();
  const seeds = [exported, storeText];
  const dict = [
    '"',
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1e999",
    '""',
    '"__proto__"',
    "{}",
    "[]",
  ];
  return {
    generate(r) {
      const k = r.int(2);
      return `${k}${mutateText(seeds[k] as string, r, dict, seeds)}`;
    },
    run(input) {
      const text = (input as string).slice(1);
      if ((input as string)[0] === "0") {
        const s = parseExportDocument(text, "fuzz.ipsec");
        const again = parseExportDocument(exportDocument(s, new Date(0)), "again");
        if (canonical(again) !== canonical(s))
          throw new ContractViolation("export round trip differs");
        return "accepted";
      }
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        return "rejected";
      }
      validateStore(data, "local-store.json");
      return "accepted";
    },
  };
}

const KRB5_CONF = `# krb5.conf of a member of bigfirm.com
[libdefaults]
    default_realm = BIGFIRM.COM
    dns_lookup_kdc = false
    rdns = false
    ticket_lifetime = 10h
    renew_lifetime = 7d 0h 0m 0s
    clockskew = 300
    permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts aes256-cts-hmac-sha384-192
    udp_preference_limit = 1

[realms]
    BIGFIRM.COM = {
        kdc = 198.18.0.10
        kdc = dc1.bigfirm.com:88
        kdc = [2001:db8::10]:750
        admin_server = dc1.bigfirm.com
        v4_name_convert = {
            host = {
                rcmd = host
            }
        }
    }
    OTHER.TEST = {
        kdc = 127.0.0.1:8888
    }

[domain_realm]
    .bigfirm.com = BIGFIRM.COM
    bigfirm.com = BIGFIRM.COM
    server1.other.test = OTHER.TEST
`;

/** krb5.conf (`KRB5_CONFIG`, /etc/krb5.conf): the profile parser and what the client reads of it. */
export function createKrb5ConfTarget(): FuzzInstance {
  const seeds = [KRB5_CONF, "[libdefaults]\n default_realm = A\n[realms]\n A = {\n kdc = h\n }\n"];
  const dict = [
    "[",
    "]",
    "{",
    "}",
    " = ",
    "\n",
    "*",
    "kdc",
    "realms",
    "libdefaults",
    "domain_realm",
    ":88",
    "[::1]",
    "h",
    "m",
    "s",
    "d",
    ":",
  ];
  return {
    generate: (r) => mutateText(r.pick(seeds), r, dict, seeds),
    run(input) {
      const c = parseKrb5Conf(input as string, "fuzz.conf");
      for (const realm of Object.keys(c.realms)) kdcsOf(c, realm);
      realmOfHost(c, "server1.bigfirm.com");
      realmOfHost(c, "server1.other.test");
      libdefaultBool(c, "rdns", true);
      libdefaultInt(c, "clockskew", 300);
      libdefaultInt(c, "udp_preference_limit", 1465);
      const life = c.libdefaults?.ticket_lifetime;
      if (typeof life === "string") parseDuration(life, "ticket_lifetime");
      return "accepted";
    },
  };
}

/** `<home>/firewall/settings.json`, read by every firewall command and the agent. */
export async function createFirewallFileTarget(): Promise<FuzzInstance> {
  const home = fuzzHome("fwfile");
  const shell = netshShell();
  const script = `${netshSeeds().find((s) => s.includes("pushd firewall")) ?? ""}
firewall set portopening protocol=UDP port=53 name=dns mode=enable scope=SUBNET profile=all
firewall set portopening protocol=TCP port=8080 name="web alt" scope=CUSTOM addresses=198.18.0.0/24,LocalSubnet
firewall set icmpsetting type=8 mode=enable
firewall set logging filelocation=pfirewall.log maxfilesize=4096 droppedpackets=enable connections=enable
`;
  fs.writeFileSync(path.join(home.dir, "seed.netsh"), script);
  try {
    await shell.runScript("seed.netsh", env(home.dir));
  } catch {
    // a line the harness leaves out; the settings keep what ran
  }
  const text = fs.readFileSync(settingsFile(home.dir), "utf8");
  home.cleanup();
  const dict = [
    '"',
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "65536",
    "1e999",
    '""',
    "{}",
    "[]",
    '"0.0.0.0/0"',
    '"LocalSubnet"',
    '"S-1-5-21-1-2-3-1105"',
  ];
  return {
    generate: (r) => mutateText(text, r, dict, [text]),
    run(input) {
      let data: unknown;
      try {
        data = JSON.parse(input as string);
      } catch {
        return "rejected";
      }
      const s = validateSettings(data, "settings.json");
      const again = validateSettings(JSON.parse(JSON.stringify(s)), "again");
      if (canonical(again) !== canonical(s))
        throw new ContractViolation("settings round trip differs");
      return "accepted";
    },
  };
}
