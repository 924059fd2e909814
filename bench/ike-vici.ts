/**
 * A minimal client of strongSwan's vici protocol (src/libcharon/plugins/vici/README.md):
 * enough to send "initiate"/"terminate" commands to charon without spawning swanctl, so the
 * setup-latency benchmark measures the daemons and not process start-up.
 *
 *   message = u32 length | u8 type | [u8 name length | name] | elements
 *   element = 3 KEY_VALUE u8 len name u16 len value | 1 SECTION_START u8 len name | 2 SECTION_END
 *             | 4 LIST_START u8 len name | 5 LIST_ITEM u16 len value | 6 LIST_END
 *   types: 0 CMD_REQUEST, 1 CMD_RESPONSE, 2 CMD_UNKNOWN, 7 EVENT
 */
import * as net from "node:net";

export interface Vici {
  request(command: string, kv: Record<string, string>): Promise<Record<string, string>>;
  close(): void;
}

function encode(command: string, kv: Record<string, string>): Buffer {
  const parts: Buffer[] = [Buffer.from([0, command.length]), Buffer.from(command)];
  for (const [k, v] of Object.entries(kv)) {
    const val = Buffer.from(v);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(val.length);
    parts.push(Buffer.from([3, k.length]), Buffer.from(k), len, val);
  }
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/** Top-level key/values of a response (sections and lists skipped). */
function decode(body: Buffer): { type: number; kv: Record<string, string> } {
  const type = body[0]!;
  const kv: Record<string, string> = {};
  let p = 1;
  if (type === 7) p += 1 + body[1]!;
  while (p < body.length) {
    const t = body[p++]!;
    if (t === 1 || t === 4) p += 1 + body[p]!;
    else if (t === 3) {
      const nl = body[p]!;
      const name = body.subarray(p + 1, p + 1 + nl).toString();
      p += 1 + nl;
      const vl = body.readUInt16BE(p);
      kv[name] = body.subarray(p + 2, p + 2 + vl).toString();
      p += 2 + vl;
    } else if (t === 5) p += 2 + body.readUInt16BE(p);
  }
  return { type, kv };
}

export function connectVici(socketPath: string): Promise<Vici> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(socketPath);
    let buf = Buffer.alloc(0);
    const waiting: ((r: { type: number; kv: Record<string, string> }) => void)[] = [];
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0);
        const msg = decode(buf.subarray(4, 4 + len));
        buf = buf.subarray(4 + len);
        if (msg.type !== 7) waiting.shift()?.(msg);
      }
    });
    sock.once("error", reject);
    sock.once("connect", () =>
      resolve({
        request: (command, kv) =>
          new Promise((res, rej) => {
            waiting.push((m) =>
              m.type === 1 ? res(m.kv) : rej(new Error(`vici ${command}: unknown command`)),
            );
            sock.write(encode(command, kv));
          }),
        close: () => sock.destroy(),
      }),
    );
  });
}
