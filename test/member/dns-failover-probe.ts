/**
 * Run inside a namespace (`ip netns exec NS node dns-failover-probe.js SERVERS NAME
 * TIMEOUT_MS`): asks NAME's SRV records of the DNS servers SERVERS (comma-separated
 * addresses, port 53, in that order) twice with one member resolver, and prints each
 * answer and how long it took as one JSON line.
 */
import { createDomainResolver } from "../../src/member/resolver.js";

async function main(servers: string, name: string, timeoutMs: number) {
  const resolver = createDomainResolver({
    servers: servers.split(",").map((host) => ({ host, port: 53 })),
    timeoutMs,
  });
  const ask = async () => {
    const t0 = performance.now();
    const targets = await resolver.lookupSrv(name);
    return {
      ms: Math.round(performance.now() - t0),
      targets: targets.map((t) => `${t.port} ${t.target} ${t.addresses.join(",")}`),
    };
  };
  const first = await ask();
  const second = await ask();
  process.stdout.write(`${JSON.stringify({ first, second })}\n`);
}

// The test runner also loads every .js under dist/test: without arguments this is a no-op.
const [servers, name, timeoutMs] = process.argv.slice(2);
if (servers && name && timeoutMs) await main(servers, name, Number(timeoutMs));
