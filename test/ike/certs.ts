/**
 * Test certificates made with the openssl CLI: a trusted root (ECDSA P-256), an RSA leaf
 * and an ECDSA leaf naming IP addresses in subjectAltName, and a second, untrusted root
 * with its own leaf. Written to a temporary directory removed by `cleanup()`.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

function openssl(args: string[], cwd: string): void {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8", timeout: 30_000 });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

export interface TestPki {
  dir: string;
  /** Absolute paths. */
  root: string;
  otherRoot: string;
  rsa: { cert: string; key: string };
  ecdsa: { cert: string; key: string };
  untrusted: { cert: string; key: string };
  read(p: string): string;
  cleanup(): void;
}

function makeRoot(dir: string, name: string): void {
  openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-days",
      "30",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
}

function makeLeaf(dir: string, name: string, root: string, keyArgs: string[], ips: string[]): void {
  openssl(
    [
      "req",
      "-newkey",
      ...keyArgs,
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    ],
    dir,
  );
  fs.writeFileSync(
    path.join(dir, `${name}.ext`),
    `subjectAltName=${ips.map((i) => `IP:${i}`).join(",")}\n`,
  );
  openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${root}.pem`,
      "-CAkey",
      `${root}.key`,
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "30",
      "-extfile",
      `${name}.ext`,
    ],
    dir,
  );
}

/** `ipsA` go into the RSA leaf (and the untrusted one), `ipsB` into the ECDSA leaf. */
export function makeTestPki(ipsA: string[], ipsB: string[]): TestPki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pik-pki-"));
  makeRoot(dir, "root");
  makeRoot(dir, "other-root");
  makeLeaf(dir, "rsa", "root", ["rsa:2048"], ipsA);
  makeLeaf(dir, "ecdsa", "root", ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"], ipsB);
  makeLeaf(dir, "untrusted", "other-root", ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"], ipsA);
  const p = (f: string) => path.join(dir, f);
  return {
    dir,
    root: p("root.pem"),
    otherRoot: p("other-root.pem"),
    rsa: { cert: p("rsa.pem"), key: p("rsa.key") },
    ecdsa: { cert: p("ecdsa.pem"), key: p("ecdsa.key") },
    untrusted: { cert: p("untrusted.pem"), key: p("untrusted.key") },
    read: (f) => fs.readFileSync(f, "utf8"),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
