/**
 * One bounded iperf3 TCP run between two namespaces of a bench's lab (test/datapath/lab.ts
 * and test/agent/lab.ts both fit): the server in B for one test, the client in A; and the
 * ping RTT between them.
 */
import type { ChildProcess } from "node:child_process";

export interface IperfLab {
  nsA: string;
  nsB: string;
  exec(ns: string, args: string[], timeoutMs?: number): { out: string; err: string };
  spawnIn(ns: string, args: string[]): ChildProcess;
}

export interface Iperf {
  gbps: number;
  retransmits: number;
}

/** TCP from A to `to` (an address of B) for `seconds`. */
export async function iperfTcp(lab: IperfLab, to: string, seconds: number): Promise<Iperf> {
  const server = lab.spawnIn(lab.nsB, ["iperf3", "-s", "-1", "-B", to]);
  await new Promise((r) => setTimeout(r, 500));
  const r = lab.exec(
    lab.nsA,
    ["iperf3", "-c", to, "-t", String(seconds), "-J"],
    (seconds + 20) * 1000,
  );
  server.kill("SIGKILL");
  try {
    const j = JSON.parse(r.out) as {
      end: { sum_received: { bits_per_second: number }; sum_sent: { retransmits: number } };
    };
    return {
      gbps: j.end.sum_received.bits_per_second / 1e9,
      retransmits: j.end.sum_sent.retransmits,
    };
  } catch {
    throw new Error(`iperf3 failed: ${r.out.slice(0, 300)} ${r.err.slice(0, 300)}`);
  }
}

/**
 * Ping RTT from A to `to`: the median of `count` echoes `spacing` seconds apart (ms), from
 * `from` when given. 50 ms apart each echo finds the path's threads asleep and their code
 * cold; 5 ms apart it is still warm (docs/datapath.md "Latency": the gap between the two is
 * the cost of going idle).
 */
export function pingRtt(
  lab: Pick<IperfLab, "nsA" | "exec">,
  to: string,
  count = 20,
  spacing = "0.05",
  from?: string,
): number {
  const r = lab.exec(
    lab.nsA,
    ["ping", "-c", String(count), "-i", spacing, "-W", "2", ...(from ? ["-I", from] : []), to],
    20_000,
  );
  const times = [...r.out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  return times.length > 0 ? median(times) : Number.NaN;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
