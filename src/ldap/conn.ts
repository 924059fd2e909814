/**
 * One LDAP connection over TCP: framing, message IDs and the SASL security layer.
 *
 *   send:    LDAPMessage BER -> (sealed: 4-byte BE length | Wrap token) -> socket
 *   receive: socket bytes -> (sealed: length-prefixed buffers, each opened) -> a plain byte
 *            stream -> LDAPMessages -> the request waiting for that messageID
 *   a request ends with its response op (SearchResultDone for a search, whose entries are
 *   gathered on the way); a Notice of Disconnection (messageID 0), a closed socket or a
 *   timeout fails every request in flight with one LdapError.
 */
import * as net from "node:net";
import { readTlv } from "./ber.js";
import { LdapError, LOCAL_CODE } from "./errors.js";
import {
  type Control,
  decodeMessage,
  decodeResult,
  encodeMessage,
  type LdapMessage,
  type LdapResult,
  OP,
} from "./messages.js";
import type { SealedSession } from "./sasl-gssapi.js";

/** The most we buffer for one message or SASL buffer (AD's own default limit is 10 MiB). */
const MAX_MESSAGE = 16 * 1024 * 1024;

export interface Response {
  result: LdapResult;
  controls: Control[];
  /** SearchResultEntry ops, in order (searches only). */
  entries: LdapMessage[];
}

interface Pending {
  entries: LdapMessage[];
  resolve(r: Response): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export interface Conn {
  request(op: Buffer, controls?: readonly Control[]): Promise<Response>;
  /** Sends without waiting for an answer (UnbindRequest). */
  send(op: Buffer): void;
  /** From now on every message is sealed with this session. */
  seal(session: SealedSession): void;
  close(): Promise<void>;
}

export function openConn(
  host: string,
  port: number,
  timeoutMs: number,
  onWire?: (direction: "out" | "in", bytes: Buffer) => void,
): Promise<Conn> {
  return new Promise((resolveConn, rejectConn) => {
    const sock = net.connect({ host, port });
    const where = `${host}:${port}`;
    const connectTimer = setTimeout(() => {
      sock.destroy();
      rejectConn(
        new LdapError(LOCAL_CODE.timeout, `LDAP ${where}: no connection after ${timeoutMs} ms`),
      );
    }, timeoutMs);
    const pending = new Map<number, Pending>();
    let nextId = 1;
    let session: SealedSession | undefined;
    let raw = Buffer.alloc(0); // bytes from the socket
    let plain = Buffer.alloc(0); // LDAP bytes (opened SASL buffers when sealed)
    let dead: LdapError | undefined;

    const failAll = (e: LdapError) => {
      dead ??= e;
      for (const [id, p] of pending) {
        clearTimeout(p.timer);
        pending.delete(id);
        p.reject(e);
      }
      sock.destroy();
    };

    const deliver = (m: LdapMessage) => {
      if (m.id === 0 && m.op.tag === OP.extendedResponse) {
        const r = decodeResult(m.op);
        failAll(
          new LdapError(
            r.resultCode,
            `LDAP ${where} disconnected: ${r.diagnosticMessage || "notice of disconnection"}`,
          ),
        );
        return;
      }
      const p = pending.get(m.id);
      if (!p) return; // an answer to an abandoned (timed-out) request
      if (m.op.tag === OP.searchResultEntry) return void p.entries.push(m);
      if (m.op.tag === OP.searchResultReference) return; // referrals to other partitions: not followed
      clearTimeout(p.timer);
      pending.delete(m.id);
      p.resolve({ result: decodeResult(m.op), controls: m.controls, entries: p.entries });
    };

    const drainPlain = () => {
      for (;;) {
        const r = readTlv(plain);
        if (!r) {
          if (plain.length > MAX_MESSAGE)
            throw new LdapError(2, `LDAP ${where}: message over ${MAX_MESSAGE} bytes`);
          return;
        }
        plain = plain.subarray(r.end);
        deliver(decodeMessage(r.tlv.value));
      }
    };

    sock.on("data", (chunk: Buffer) => {
      onWire?.("in", chunk);
      try {
        if (!session) {
          plain = Buffer.concat([plain, chunk]);
          drainPlain();
          return;
        }
        raw = Buffer.concat([raw, chunk]);
        while (raw.length >= 4) {
          const len = raw.readUInt32BE(0);
          if (len > MAX_MESSAGE)
            throw new LdapError(2, `LDAP ${where}: SASL buffer of ${len} bytes`);
          if (raw.length < 4 + len) break;
          plain = Buffer.concat([plain, session.open(raw.subarray(4, 4 + len))]);
          raw = raw.subarray(4 + len);
        }
        drainPlain();
      } catch (e) {
        failAll(
          e instanceof LdapError ? e : new LdapError(2, `LDAP ${where}: ${(e as Error).message}`),
        );
      }
    });
    sock.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      const err = new LdapError(
        LOCAL_CODE.connectError,
        `LDAP ${where}: ${e.code === "ECONNREFUSED" ? "connection refused" : e.message}`,
      );
      rejectConn(err);
      failAll(err);
    });
    sock.on("close", () =>
      failAll(
        new LdapError(LOCAL_CODE.serverDown, `LDAP ${where}: the server closed the connection`),
      ),
    );

    const write = (bytes: Buffer) => {
      let out = bytes;
      if (session) {
        const token = session.seal(bytes);
        const len = Buffer.alloc(4);
        len.writeUInt32BE(token.length);
        out = Buffer.concat([len, token]);
      }
      onWire?.("out", out);
      sock.write(out);
    };

    const conn: Conn = {
      request(op, controls = []) {
        if (dead) return Promise.reject(dead);
        const id = nextId++;
        return new Promise<Response>((resolve, reject) => {
          const timer = setTimeout(() => {
            pending.delete(id);
            reject(
              new LdapError(LOCAL_CODE.timeout, `LDAP ${where}: no answer after ${timeoutMs} ms`),
            );
          }, timeoutMs);
          pending.set(id, { entries: [], resolve, reject, timer });
          write(encodeMessage(id, op, controls));
        });
      },
      send(op) {
        if (!dead) write(encodeMessage(nextId++, op));
      },
      seal(s) {
        session = s;
      },
      close() {
        return new Promise((resolve) => {
          if (sock.destroyed) return resolve();
          sock.once("close", () => resolve());
          sock.end();
          setTimeout(() => sock.destroy(), 1000).unref();
        });
      },
    };
    sock.once("connect", () => {
      clearTimeout(connectTimer);
      resolveConn(conn);
    });
  });
}
