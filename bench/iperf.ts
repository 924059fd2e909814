/**
 * One bounded iperf3 TCP run between two namespaces of a bench's lab (test/datapath/lab.ts
 * and test/agent/lab.ts both fit): the server in B for one test, the client in A.
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
