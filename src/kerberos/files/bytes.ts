/**
 * Big-endian binary reading and writing for MIT's keytab and ccache files. The reader
 * checks every length against what is left before reading, and fails with a
 * `FileFormatError` naming the file kind, the field and the offset.
 */
import * as fs from "node:fs";
import { PosternError } from "../../errors.js";

export type FileFormatCode = "keytab-malformed" | "ccache-malformed" | "file-unsupported";

export class FileFormatError extends PosternError {
  constructor(code: FileFormatCode, message: string) {
    super(code, message);
    this.name = "FileFormatError";
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const ENCODER = new TextEncoder();

export class ByteReader {
  private off = 0;
  private readonly view: DataView;
  private readonly buf: Uint8Array;

  constructor(
    input: Uint8Array,
    private readonly code: FileFormatCode,
    private readonly what: string,
    private readonly end = input.length,
    start = 0,
  ) {
    // A plain Uint8Array view, so that slices of a Buffer are copies, not views.
    this.buf = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    this.view = new DataView(input.buffer, input.byteOffset, input.byteLength);
    this.off = start;
  }

  get offset(): number {
    return this.off;
  }

  get remaining(): number {
    return this.end - this.off;
  }

  fail(field: string, detail: string): never {
    throw new FileFormatError(this.code, `${this.what}: ${field} at offset ${this.off}: ${detail}`);
  }

  private need(n: number, field: string): void {
    if (n > this.remaining) this.fail(field, `needs ${n} bytes, ${this.remaining} left`);
  }

  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.off++);
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.off);
    this.off += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.off);
    this.off += 4;
    return v;
  }

  i32(field: string): number {
    this.need(4, field);
    const v = this.view.getInt32(this.off);
    this.off += 4;
    return v;
  }

  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.buf.slice(this.off, this.off + n);
    this.off += n;
    return v;
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.off += n;
  }

  /** UTF-8 text of `n` bytes (MIT stores names as raw bytes; we require valid UTF-8). */
  text(n: number, field: string): string {
    const b = this.bytes(n, field);
    try {
      return UTF8.decode(b);
    } catch {
      return this.fail(field, "not valid UTF-8");
    }
  }
}

export class ByteWriter {
  private readonly parts: number[] = [];
  private chunks: Uint8Array[] = [];

  private flush(): void {
    if (this.parts.length) {
      this.chunks.push(Uint8Array.from(this.parts));
      this.parts.length = 0;
    }
  }

  private checked(v: number, max: number, field: string): number {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new FileFormatError(
        "file-unsupported",
        `${field} ${v} does not fit in the file format`,
      );
    }
    return v;
  }

  u8(v: number, field = "u8"): this {
    this.parts.push(this.checked(v, 0xff, field));
    return this;
  }

  u16(v: number, field = "u16"): this {
    this.checked(v, 0xffff, field);
    this.parts.push(v >>> 8, v & 0xff);
    return this;
  }

  u32(v: number, field = "u32"): this {
    this.checked(v, 0xffffffff, field);
    this.parts.push(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    return this;
  }

  i32(v: number, field = "i32"): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
      throw new FileFormatError("file-unsupported", `${field} ${v} does not fit in an int32`);
    }
    return this.u32(v >>> 0, field);
  }

  bytes(b: Uint8Array): this {
    this.flush();
    this.chunks.push(b);
    return this;
  }

  text(s: string): Uint8Array {
    return ENCODER.encode(s);
  }

  finish(): Uint8Array {
    this.flush();
    const len = this.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(len);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    this.chunks = [];
    return out;
  }
}

/** `FILE:/path` or `/path` -> `/path`; other cache/keytab types are refused. */
export function filePathFromName(name: string, kind: "keytab" | "ccache"): string {
  const m = /^([A-Za-z]+):(.*)$/.exec(name);
  if (!m) return name;
  const type = m[1]!.toUpperCase();
  if (type === "FILE" || (kind === "keytab" && type === "WRFILE")) return m[2]!;
  throw new FileFormatError(
    "file-unsupported",
    `${kind} ${name}: only FILE: ${kind}s are supported (got ${type}:)`,
  );
}

/** The file's bytes, or one clear line when it is missing or unreadable. */
export function readFileOrFail(file: string, kind: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new PosternError("file-not-found", `${kind} ${file}: no such file`);
    if (code === "EACCES")
      throw new PosternError("file-denied", `${kind} ${file}: permission denied`);
    throw e;
  }
}
