/**
 * Test-only reader for MIT credential cache v4 (0x0504): returns each credential's server
 * principal and DER ticket. (The real ccache codec lives in src/kerberos/files/.)
 */
export interface CachedTicket {
  server: string;
  ticket: Uint8Array;
  /** Offset of the ticket's 4-byte length field in the ccache. */
  ticketOffset: number;
}

export function readCcacheTickets(buf: Uint8Array): CachedTicket[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = 0;
  const u8 = () => buf[p++]!;
  const u16 = () => {
    p += 2;
    return dv.getUint16(p - 2);
  };
  const u32 = () => {
    p += 4;
    return dv.getUint32(p - 4);
  };
  const data = () => {
    const n = u32();
    p += n;
    return buf.subarray(p - n, p);
  };
  const principal = () => {
    u32(); // name type
    const n = u32();
    const realm = new TextDecoder().decode(data());
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(new TextDecoder().decode(data()));
    return `${parts.join("/")}@${realm}`;
  };
  if (u16() !== 0x0504) throw new Error("not a v4 ccache");
  const headerLength = u16();
  p += headerLength; // header tags (e.g. KDC time offset)
  principal(); // default principal
  const out: CachedTicket[] = [];
  while (p < buf.length) {
    principal(); // client
    const server = principal();
    u16(); // keyblock enctype
    data(); // key
    p += 16; // authtime, starttime, endtime, renew_till
    u8(); // is_skey
    u32(); // flags
    for (let list = 0; list < 2; list++) {
      // addresses, then authdata: count, then (u16 type, counted data) each
      for (let n = u32(); n > 0; n--) {
        u16();
        data();
      }
    }
    const ticketOffset = p;
    const ticket = data();
    data(); // second ticket
    out.push({ server, ticket: Uint8Array.from(ticket), ticketOffset });
  }
  return out;
}

/** The ccache with `server`'s ticket replaced by `ticket` (length field updated). */
export function replaceCcacheTicket(
  buf: Uint8Array,
  server: string,
  ticket: Uint8Array,
): Uint8Array {
  const t = readCcacheTickets(buf).find((x) => x.server === server);
  if (!t) throw new Error(`no ticket for ${server} in the ccache`);
  const end = t.ticketOffset + 4 + t.ticket.length;
  const out = new Uint8Array(buf.length - t.ticket.length + ticket.length);
  out.set(buf.subarray(0, t.ticketOffset));
  new DataView(out.buffer).setUint32(t.ticketOffset, ticket.length);
  out.set(ticket, t.ticketOffset + 4);
  out.set(buf.subarray(end), t.ticketOffset + 4 + ticket.length);
  return out;
}
