/**
 * Help for `postern netsh ipsec static`: the whole context (`help`, `--help`, `?`) and one
 * command (`help add filter`, `add filter ?`), in the layout of 2003's netsh help.
 */

export const USAGE: Record<string, string> = {
  "add policy": `add policy [name=]<string> [[description=]<string>] [[mmpfs=]yes|no] [[qmpermm=]<integer>]
           [[mmlifetime=]<minutes>] [[activatedefaultrule=]yes|no] [[pollinginterval=]<minutes>]
           [[assign=]yes|no] [[mmsecmethods=]"sec1 sec2 ..."]
  Creates a policy. Defaults: mmpfs=no qmpermm=0 (unlimited; mmpfs=yes sets 1) mmlifetime=480
  activatedefaultrule=yes pollinginterval=180 assign=no
  mmsecmethods="AES256GCM-SHA384-31 AES256GCM-SHA384-19 AES256-SHA256-14 AES128-SHA256-14".`,
  "set policy": `set policy name=<string>|guid=<guid> [newname=] [description=] [mmpfs=] [qmpermm=]
           [mmlifetime=] [activatedefaultrule=] [pollinginterval=] [assign=yes|no] [gponame=]
           [mmsecmethods=]
  Changes a policy. assign=yes unassigns every other policy (one assigned policy per host).
  Domain store: assign=yes|no gponame=<GPO> assigns the policy to (or removes it from) that
  Group Policy object; assign= without gponame= is ignored there.`,
  "delete policy": `delete policy [name=]<string> | guid=<guid> | all
  Deletes a policy and its rules (filter lists and filter actions stay).`,
  "add filterlist": `add filterlist [name=]<string> [[description=]<string>]
  Creates an empty filter list.`,
  "set filterlist": `set filterlist name=<string>|guid=<guid> [newname=] [description=]`,
  "delete filterlist": `delete filterlist [name=]<string> | guid=<guid> | all
  Refused while a rule uses the filter list.`,
  "add filter": `add filter [filterlist=]<string> [srcaddr=]<address> [dstaddr=]<address> [[description=]<string>]
           [[protocol=]ANY|ICMP|TCP|UDP|RAW|<0-255>] [[mirrored=]yes|no] [[srcmask=]<mask|prefix>]
           [[dstmask=]<mask|prefix>] [[srcport=]<0-65535>] [[dstport=]<0-65535>]
  Adds a filter; creates the filter list if it does not exist. Defaults: protocol=ANY
  mirrored=yes masks=host (255.255.255.255, /128) ports=0 (any).
  address: me | any | IPv4 | IPv6 | a.b.c.d-e.f.g.h (range, one family, no mask) | DNS name
           (resolved when the policy is applied) | WINS|DNS|DHCP|GATEWAY (server type: the
           other side must be me). Ports need protocol TCP or UDP.`,
  "delete filter": `delete filter [filterlist=]<string> [srcaddr=]<address> [dstaddr=]<address> [[protocol=]]
           [[srcmask=]] [[dstmask=]] [[srcport=]] [[dstport=]] [[mirrored=]]
  Deletes every filter of the list that matches all the fields given.`,
  "add filteraction": `add filteraction [name=]<string> [[description=]<string>] [[qmpfs=]yes|no] [[inpass=]yes|no]
           [[soft=]yes|no] [[action=]permit|block|negotiate] [[qmsecmethods=]"neg1 neg2 ..."]
  Defaults: action=negotiate qmpfs=no inpass=no soft=no
  qmsecmethods="ESP[AES256GCM,None] ESP[AES128GCM,None] ESP[AES256,SHA256] ESP[AES128,SHA256]"`,
  "set filteraction": `set filteraction name=<string>|guid=<guid> [newname=] [description=] [qmpfs=] [inpass=]
           [soft=] [action=] [qmsecmethods=]`,
  "delete filteraction": `delete filteraction [name=]<string> | guid=<guid> | all
  Refused while a rule uses the filter action.`,
  "add rule": `add rule [name=]<string> [policy=]<string> [filterlist=]<string> [filteraction=]<string>
           [[tunnel=]<ip|dns>] [[conntype=]lan|dialup|all] [[activate=]yes|no] [[description=]]
           [[kerberos=]yes|no] [[psk=]<key>] [[rootca=]"<CA> certmap:yes|no excludecaname:yes|no"]...
  Adds a rule to a policy. Defaults: transport mode (no tunnel), conntype=all, activate=yes,
  kerberos. Authentication methods are preferred in the order written; rootca repeats.`,
  "set rule": `set rule name=<string>|id=<integer> policy=<string> [newname=] [description=] [filterlist=]
           [filteraction=] [tunnel=<ip|dns|none>] [conntype=] [activate=] [kerberos=] [psk=] [rootca=]...
  Giving any of kerberos=/psk=/rootca= replaces the rule's authentication methods.`,
  "delete rule": `delete rule name=<string> | id=<integer> | all  policy=<string>
  Rules after a deleted one are renumbered.`,
  "set defaultrule": `set defaultrule [policy=]<string> [qmpfs=] [activate=] [qmsecmethods=] [kerberos=] [psk=] [rootca=]...
  Changes the policy's default response rule.`,
  "delete all": `delete all
  Deletes every policy, filter list and filter action of the current store.`,
  "set store": `set store [location=]local|domain|persistent [[domain=]<name>]
  Chooses the store later commands use (kept in <home>/ipsec/store-location.json). The domain
  store is the domain's IPsec policy container on this DC (through its admin socket when it
  runs, else the database); only a DC host has it. domain= must name the DC's domain.
  The persistent store (<home>/ipsec/persistent-store.json) holds the persistent policy:
  the agent applies its assigned policy's rules first, ahead of the local or domain
  policy, and keeps them whatever those do (alone when nothing else is assigned).`,
  "set batch": `set batch [mode=]enable|disable
  Accepted for script compatibility; every postern command is already saved atomically.`,
  "show all": `show all [level=normal|verbose] [format=list|table] [wide=yes|no]`,
  "show policy": `show policy [name=]<string> | guid=<guid> | all [level=] [format=] [wide=]`,
  "show filterlist": `show filterlist [name=]<string> | rule=<string> | all [level=] [format=] [resolvedns=yes|no] [wide=]`,
  "show filteraction": `show filteraction [name=]<string> | rule=<string> | all [level=] [format=] [wide=]`,
  "show rule": `show rule [name=]<string> | id=<integer> | all | default  policy=<string> [type=tunnel|transport]
           [level=] [format=] [wide=]`,
  "show gpoassignedpolicy": `show gpoassignedpolicy [name=<GPO>]
  Domain store: the domain policy assigned to GPO name= (every GPO without name=). Local
  store: the locally assigned policy and the one Group Policy assigned (which overrides it).`,
  "show store": `show store
  Prints the current store (local or domain).`,
  exportpolicy: `exportpolicy [file=]<path>
  Writes every policy, filter list and filter action to a postern JSON file (versioned).`,
  importpolicy: `importpolicy [file=]<path>
  Merges a file written by exportpolicy into the store: objects are matched by GUID and
  replaced; new ones are added; a name taken by a different object is refused.`,
};

export const CONTEXT_HELP = `postern netsh ipsec static - IPsec policies in the store, as Windows Server 2003's netsh

SYNOPSIS
  postern netsh ipsec static COMMAND OBJECT [tag=]value ... [--json]
  postern netsh ipsec static help [COMMAND [OBJECT]]

COMMANDS
  add policy|filterlist|filter|filteraction|rule          create
  set policy|filterlist|filteraction|rule|defaultrule     change
  set store location=local|domain|persistent              choose the store
  set batch mode=enable|disable                           accepted, no effect
  delete policy|filterlist|filter|filteraction|rule|all   remove
  show all|policy|filterlist|filteraction|rule            print (level=, format=, wide=, --json)
  show gpoassignedpolicy|store
  exportpolicy file=PATH                                  write the store to a JSON file
  importpolicy file=PATH                                  merge such a file into the store
  help [COMMAND [OBJECT]]                                 this text, or one command's usage

PARSING
  Commands, objects, tags and keywords are case-insensitive, and each may be shortened to any
  unambiguous prefix (sh pol, add filterl, srca=, mir=, qmsec=). Tags may be left out when
  the values come in the command's order. Values with blanks go in double quotes. Booleans
  are yes|no (y|n). Every change is validated as a whole and saved atomically: a command that
  fails leaves the store exactly as it was.

SECURITY METHODS
  qmsecmethods  space-separated offers, most preferred first:
                ESP[ConfAlg,AuthAlg][:Nk/Ns]  AH[HashAlg][:Nk/Ns]  AH[HashAlg]+ESP[ConfAlg,AuthAlg][:Nk/Ns]
                ConfAlg: AES128 AES256 AES128GCM AES256GCM (GCM with AuthAlg None) None; 3DES (warning)
                AuthAlg/HashAlg: SHA256 SHA384 None; SHA1 (warning)
                lifetime: 20480-2147483647 kilobytes, 300-172800 seconds (default 100000k/3600s)
  mmsecmethods  space-separated ConfAlg-HashAlg-Group: AES256-SHA256-14, AES256GCM-SHA384-19
                Group: 14 (2003's 3 = DH2048), 19 (ECP-256), 31 (Curve25519); 2 (warning)
  DES, MD5 and DH group 1 are refused, with the modern algorithm to use instead.

ADDRESSES (srcaddr=, dstaddr=)
  me | any | IPv4 | IPv6 | FIRST-LAST (range, one family, no mask) | DNS name (resolved when the
  policy is applied) | WINS|DNS|DHCP|GATEWAY (server type; the other side must be me).
  srcmask=/dstmask= take a dotted mask or a prefix length (default: a host); the address may
  not have bits outside its mask.

AUTHENTICATION (rules and the default rule)
  kerberos=yes|no   psk="KEY"   rootca="CA NAME certmap:yes|no excludecaname:yes|no"
  rootca may repeat; the order on the line is the order of preference; \\' stands for a
  double quote in a CA name. Without any of them: Kerberos.

COMMAND REFERENCE
${Object.values(USAGE)
  .map((u) => u.replace(/^/gm, "  "))
  .join("\n\n")}

FILES
  <home>/ipsec/local-store.json      the local policy store (replaced atomically)
  <home>/ipsec/persistent-store.json the persistent policy store (the same way)
  <home>/ipsec/store-location.json   the store chosen with set store

EXIT STATUS
  0 done; 1 the command was refused (unknown object, duplicate name, object in use, no
  domain controller); 2 the command does not parse (unknown or ambiguous tag or value).

EXAMPLES
  add filterlist name="Web"
  add filter filterlist="Web" srcaddr=any dstaddr=me protocol=TCP dstport=80 mirrored=yes
  add filteraction name="sign" action=negotiate qmsec="AH[SHA1]"
  add policy name="Secure web"
  add rule name="Web" policy="Secure web" filterlist="Web" filteraction="sign" kerberos=yes
  set policy name="Secure web" assign=yes
  show policy name="Secure web" level=verbose
  show all format=table --json

See docs/ipsec-policy.md for the model, the defaults and the deviations from 2003.
`;

/** The help text for `help [verb [object]]`. */
export function helpFor(words: readonly string[]): string {
  if (words.length === 0) return CONTEXT_HELP;
  const key = words.join(" ").toLowerCase();
  const hits = Object.entries(USAGE).filter(([k]) => k === key || k.startsWith(`${key} `));
  if (hits.length === 0) return CONTEXT_HELP;
  return `${hits.map(([, u]) => u).join("\n\n")}\n`;
}
