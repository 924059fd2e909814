/**
 * The command-line grammar (src/cmdline/grammar.ts) as a user meets it: --help at every level
 * of the command table through the real binary, --version, "did you mean", the generated
 * bash completion run by bash, the man page read by groff, the JSON error envelope and
 * the exit statuses of docs/cli.md.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { COMMANDS } from "../src/cli/commands.js";
import { editDistance, parseLine, suggest, walk } from "../src/cmdline/grammar.js";
import { EXIT } from "../src/cli/main.js";
import { BIN, cli, runBin, tempHome } from "./helpers/cli.js";

const PATHS = COMMANDS.flatMap((c) => walk(c.spec).map((n) => n.path));

function oneLine(r: { code: number; err: string; out: string }, code: number, re: RegExp): void {
  assert.equal(r.code, code, r.err);
  assert.equal(r.err.trim().split("\n").length, 1, r.err);
  assert.match(r.err, re);
  assert.doesNotMatch(r.err, /\n\s+at |internal error/);
}

describe("--help at every level of the command table", () => {
  it("the table reaches the commands the issue names", () => {
    for (const p of ["dc init", "ipsec explain", "domain computer show", "ktutil add"])
      assert.ok(PATHS.includes(p), p);
    assert.ok(PATHS.length > 60, `only ${PATHS.length} commands`);
  });

  for (const p of PATHS) {
    it(`postern ${p} --help (the real binary): exit 0, its help on stdout`, () => {
      const r = runBin([...p.split(" "), "--help"]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, "");
      // A written help names its command; a generated one names the whole path.
      const top = COMMANDS.find((c) => c.name === p.split(" ")[0]);
      const own =
        p === top?.name ||
        walk(top?.spec ?? { name: "", summary: "" }).some(
          (n) => n.path === p && n.node.help !== undefined,
        );
      assert.match(r.out, new RegExp(`postern ${own ? top?.name : p}\\b`));
    });
  }

  it("-h works as --help, also after options and arguments", async () => {
    const home = tempHome("clih");
    try {
      for (const args of [
        ["dc", "init", "-h"],
        ["dc", "init", "--domain", "x.test", "--help"],
        ["domain", "computer", "show", "xp", "-h"],
        ["ipsec", "explain", "--src", "1.2.3.4", "-h"],
        ["-h"],
      ]) {
        const r = await cli(home.dir, ...args);
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.err}`);
        assert.match(r.out, /SYNOPSIS|USAGE/);
      }
    } finally {
      home.cleanup();
    }
  });

  it("netsh keeps its own grammar; each context answers --help, -h and ?", async () => {
    const home = tempHome("clin");
    try {
      for (const [ctx, re] of [
        [["ipsec", "static"], /netsh ipsec static/],
        [["ipsec", "dynamic"], /show qmsas/],
        [["firewall"], /show +- Shows firewall configuration/],
      ] as const)
        for (const h of ["--help", "-h", "?"]) {
          const r = await cli(home.dir, "netsh", ...ctx, h);
          assert.equal(r.code, 0, `${ctx.join(" ")} ${h}: ${r.err}`);
          assert.match(r.out, re);
        }
      const tail = await cli(home.dir, "net", "group", "trusted", "/?");
      assert.equal(tail.code, 0);
      assert.match(tail.out, /postern net group/);
    } finally {
      home.cleanup();
    }
  });

  it("a subcommand's help names its options with their values", () => {
    const r = runBin(["dc", "init", "--help"]);
    assert.match(r.out, /postern dc init --domain DNSNAME \[--netbios NAME\]/);
    assert.match(r.out, /--admin-password-file FILE +Administrator's password/);
  });
});

describe("--version", () => {
  it("prints postern and package.json's version, exit 0", () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(BIN, "../../../../package.json"), "utf8"));
    const r = runBin(["--version"]);
    assert.equal(r.code, 0);
    assert.equal(r.out, `postern ${pkg.version}\n`);
  });
});

describe("did you mean", () => {
  const cases: [string[], RegExp][] = [
    [
      ["dc", "inti"],
      /dc: expected init, start, backup or restore, got inti \(did you mean `dc init`\?\)/,
    ],
    [["klsit"], /unknown command 'klsit' \(did you mean `klist`\?/],
    [["domain", "computr", "list"], /did you mean `domain computer`\?/],
    [["domain", "gpo", "lnik"], /did you mean `domain gpo link`\?/],
    [["firewall", "aply"], /did you mean `firewall apply`\?/],
  ];
  for (const [args, re] of cases)
    it(`postern ${args.join(" ")}: one line, exit 2`, () => oneLine(runBin(args), 2, re));

  it("a mistyped long option gets the nearest one", () => {
    oneLine(
      runBin(["dc", "init", "--domian", "x.test"]),
      2,
      /dc init: unknown option --domian \(did you mean --domain\?\)/,
    );
  });

  it("no suggestion when nothing is close", () => {
    const r = runBin(["dc", "frobnicate"]);
    oneLine(r, 2, /got frobnicate \(see postern dc --help\)/);
  });

  it("edit distance counts a transposition as one edit", () => {
    assert.equal(editDistance("inti", "init"), 1);
    assert.equal(editDistance("kitten", "sitting"), 3);
    assert.equal(suggest("stat", ["stats", "delete-sas"]), "stats");
    assert.equal(suggest("xyz", ["init", "start"]), undefined);
  });
});

describe("usage errors: one line, exit 2", () => {
  const spec = {
    name: "t",
    summary: "test",
    args: "NAME [MORE...]",
    options: [
      { name: "file", type: "string" as const, value: "F", help: "" },
      { name: "force", type: "boolean" as const, help: "" },
      { name: "k", type: "boolean" as const, help: "" },
      { name: "c", type: "string" as const, value: "CACHE", help: "", required: true },
    ],
  };
  const bad: [string[], RegExp][] = [
    [["x", "-c", "C", "--bogus"], /^t: unknown option --bogus \(see postern t --help\)$/],
    [["x", "-c", "C", "-q"], /^t: unknown option -q/],
    [["x", "-c", "C", "--file"], /^t: --file needs a value$/],
    [["x", "-c", "C", "--file=a", "--file", "b"], /^t: --file given twice$/],
    [["x", "-c", "C", "--force=yes"], /^t: --force takes no value$/],
    [["x"], /^t: -c CACHE is required$/],
    [["-c", "C"], /^usage: postern t NAME \[MORE\.\.\.\] \[--file F\]/],
  ];
  for (const [argv, re] of bad)
    it(`t ${argv.join(" ")}`, () => {
      assert.throws(
        () => parseLine(spec, "t", argv),
        (e: Error & { exitCode?: number }) => {
          assert.equal(e.exitCode, 2);
          assert.match(e.message, re);
          return true;
        },
      );
    });

  it("long, --name=value, short and grouped short options", () => {
    const p = parseLine(spec, "t", ["a", "--file=f", "-kc", "C", "b", "--force"]);
    assert.deepEqual(p.positionals, ["a", "b"]);
    assert.equal(p.str("file"), "f");
    assert.equal(p.str("c"), "C");
    assert.ok(p.flag("k") && p.flag("force"));
  });
});

describe("--json: one envelope for errors", () => {
  it("a usage error is {error:{code:usage,message}} on stderr, exit 2", () => {
    const r = runBin(["--json", "dc", "inti"]);
    assert.equal(r.code, 2);
    assert.equal(r.out, "");
    const doc = JSON.parse(r.err);
    assert.deepEqual(Object.keys(doc), ["error"]);
    assert.equal(doc.error.code, "usage");
    assert.match(doc.error.message, /did you mean `dc init`/);
  });

  it("a failed command keeps its code, exit 1", () => {
    const home = tempHome("clij");
    try {
      const r = runBin(["--home", home.dir, "klist", "--machine", "--json"]);
      assert.equal(r.code, 1);
      assert.deepEqual(JSON.parse(r.err).error.code, "no-ccache");
    } finally {
      home.cleanup();
    }
  });

  it("without --json the same error is one plain line", () => {
    oneLine(runBin(["dc", "inti"]), 2, /^postern: dc: expected/);
  });
});

/** Runs the generated completion in bash for the words typed so far; returns COMPREPLY. */
function complete(words: string[]): string[] {
  const script = `source <("${process.execPath}" "${BIN}" completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}
_postern; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync("bash", ["-c", script], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l !== "");
}

describe("bash completion generated from the table", () => {
  it("registers _postern for postern", () => {
    const r = spawnSync(
      "bash",
      ["-c", `source <("${process.execPath}" "${BIN}" completion bash); complete -p postern`],
      { encoding: "utf8" },
    );
    assert.equal(r.stdout.trim(), "complete -F _postern postern");
  });

  it("completes every top-level command", () => {
    assert.deepEqual(complete(["postern", ""]).sort(), COMMANDS.map((c) => c.name).sort());
  });

  it("completes subcommands, options, option words and files", () => {
    assert.deepEqual(complete(["postern", "dc", "in"]), ["init"]);
    assert.deepEqual(complete(["postern", "--home", "/tmp", "domain", "computer", "re"]), [
      "reset-key",
    ]);
    assert.deepEqual(complete(["postern", "dc", "init", "--dc-"]).sort(), [
      "--dc-address",
      "--dc-name",
    ]);
    assert.deepEqual(complete(["postern", "domain", "group", "add", "x", "--scope", "d"]), [
      "domainlocal",
    ]);
    assert.deepEqual(complete(["postern", "dc", "init", "--domain", ""]), []);
    assert.ok(complete(["postern", "kinit", "-"]).includes("-k"));
    assert.ok(complete(["postern", "ike", "initiate", "--"]).includes("--version"));
    const files = complete(["postern", "kdc", "--db", path.join(path.dirname(BIN), "ma")]);
    assert.ok(files.includes(path.join(path.dirname(BIN), "main.js")), files.join(" "));
  });
});

describe("exit statuses", () => {
  it("docs/cli.md documents each of main.ts's EXIT statuses", () => {
    const doc = fs.readFileSync(path.resolve(BIN, "../../../../docs/cli.md"), "utf8");
    for (const [name, code] of Object.entries(EXIT))
      assert.match(doc, new RegExp(`^\\| ${code} \\|`, "m"), `${name} (${code}) missing`);
  });

  it("0 for help, 2 for usage, 1 for a failed command", async () => {
    const home = tempHome("clix");
    try {
      assert.equal((await cli(home.dir, "--help")).code, EXIT.ok);
      assert.equal((await cli(home.dir)).code, EXIT.usage);
      assert.equal((await cli(home.dir, "dc", "backup")).code, EXIT.usage);
      assert.equal((await cli(home.dir, "leave")).code, EXIT.failed);
    } finally {
      home.cleanup();
    }
  });
});

describe("man page from the same help texts", () => {
  const r = runBin(["man"]);
  it("is roff with a section per command and subcommand", () => {
    assert.equal(r.code, 0);
    assert.match(r.out, /^\.TH POSTERN 1 /);
    for (const c of COMMANDS) assert.match(r.out, new RegExp(`^\\.SS postern ${c.name}$`, "m"));
    assert.match(r.out, /^\.SS postern dc init$/m);
  });

  const groff = spawnSync("groff", ["--version"]).status === 0;
  it("groff reads it without a warning", { skip: !groff && "no groff" }, () => {
    const g = spawnSync("groff", ["-man", "-Tutf8", "-ww", "-z"], {
      input: r.out,
      encoding: "utf8",
    });
    assert.equal(g.status, 0);
    assert.equal(g.stderr, "");
  });
});
