/**
 * `postern kdc`: the standalone KDC runner, a test and development tool (the DC embeds the
 * KDC itself). Serves one realm from a JSON principal file on UDP and TCP until SIGINT or
 * SIGTERM, then prints its counters.
 */
import { PosternError, UsageError } from "../../errors.js";
import type { CliEnv } from "../../cmdline/env.js";
import { defineCommand, type Parsed } from "../../cmdline/grammar.js";
import { loadKdcDbFile } from "./db-file.js";
import { createKdcServer } from "./server.js";

const HELP = `usage: postern kdc --db FILE.json [--realm REALM] [--address ADDR] [--port N] [--workers N]

A Kerberos KDC for tests and development (the DC embeds the same KDC). It serves the realm
of FILE.json (principals with passwords, RIDs and groups; see docs/kdc.md) on UDP and TCP
until interrupted, then prints request and error counters.

  --db FILE.json   principal file (realm, domainSid, krbtgtPassword, principals)
  --realm REALM    must match the file's realm if given
  --address ADDR   listen address (default 127.0.0.1)
  --port N         UDP and TCP port (default 88; 0 picks a free one)
  --workers N      worker threads running the KDC core (default 0: the core runs in the
                   socket thread, which measured faster on 2 CPUs; see docs/kdc.md)

Pre-authentication is always required; FAST is never offered; tickets carry a PAC.
Exit status: 0 after a clean stop, 1 for a bad file, 2 for usage errors.`;

function kdcArgs(p: Parsed) {
  const port = Number(p.str("port") ?? "88");
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`kdc: --port ${JSON.stringify(p.str("port"))} is not a port number`);
  const workers = Number(p.str("workers") ?? "0");
  if (!Number.isInteger(workers) || workers < 0 || workers > 64)
    throw new UsageError(`kdc: --workers ${JSON.stringify(p.str("workers"))} is not 0..64`);
  return {
    db: p.str("db") as string,
    realm: p.str("realm"),
    address: p.str("address") ?? "127.0.0.1",
    port,
    workers,
  };
}

async function run(p: Parsed, env: CliEnv): Promise<number> {
  const a = kdcArgs(p);
  const path = a.db.startsWith("/") ? a.db : `${env.cwd}/${a.db}`;
  const loaded = loadKdcDbFile(path);
  const realm = loaded.file.realm.toUpperCase();
  if (a.realm && a.realm.toUpperCase() !== realm)
    throw new UsageError(`kdc: --realm ${a.realm} differs from the file's realm ${realm}`);
  const server = createKdcServer({
    database: loaded.database,
    realm,
    krbtgtKeys: loaded.krbtgtKeys,
    listen: { address: a.address, port: a.port },
    workers: a.workers,
    // The file cannot change while the runner runs: each worker loads its own copy.
    workerDatabase: {
      module: new URL("./db-file.js", import.meta.url).href,
      exportName: "openKdcDbFileDatabase",
      arg: path,
    },
    ...(loaded.file.dnsDomain ? { dnsDomain: loaded.file.dnsDomain } : {}),
    ...(loaded.file.maxLifeSeconds ? { maxLifeMs: loaded.file.maxLifeSeconds * 1000 } : {}),
    ...(loaded.file.maxRenewableLifeSeconds !== undefined
      ? { maxRenewableLifeMs: loaded.file.maxRenewableLifeSeconds * 1000 }
      : {}),
  });
  let at: { address: string; port: number };
  try {
    at = await server.start();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new PosternError("kdc-listen", `kdc: cannot listen on ${a.address}:${a.port} (${code})`);
  }
  env.out(
    `kdc: realm ${realm} listening on ${at.address}:${at.port} (udp, tcp), workers: ${server.workers}`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.stop();
  env.out(JSON.stringify(server.counters()));
  return 0;
}

export const kdcCommand = defineCommand({
  name: "kdc",
  summary: "run a test/development Kerberos KDC from a JSON principal file",
  help: HELP,
  options: [
    {
      name: "db",
      type: "string",
      value: "FILE.json",
      required: true,
      help: "principal file",
      complete: "file",
    },
    { name: "realm", type: "string", value: "REALM", help: "must match the file's realm if given" },
    { name: "address", type: "string", value: "ADDR", help: "listen address (default 127.0.0.1)" },
    {
      name: "port",
      type: "string",
      value: "N",
      help: "UDP and TCP port (default 88; 0 picks a free one)",
    },
    {
      name: "workers",
      type: "string",
      value: "N",
      help: "worker threads running the KDC core (default 0)",
    },
  ],
  run,
});
