/**
 * postern's Kerberos client talking to one KDC on 127.0.0.1 over real sockets (the tests'
 * own postern KDC on a port of its own). `extra`: more client options (preauth hints, ...).
 */
import { randomBytes } from "../../src/crypto/primitives.js";
import {
  type ClientDeps,
  createKerberosClient,
  type KerberosClient,
} from "../../src/kerberos/client/index.js";
import { createKdcTransport, createNodeKdcIo } from "../../src/kerberos/transport.js";

export function localKdcClient(
  port: number,
  extra: Partial<Omit<ClientDeps, "transport" | "now" | "randomBytes">> = {},
): KerberosClient {
  return createKerberosClient({
    transport: createKdcTransport({
      io: createNodeKdcIo(),
      kdcsOf: () => [{ host: "127.0.0.1", port }],
    }),
    now: Date.now,
    randomBytes,
    ...extra,
  });
}
