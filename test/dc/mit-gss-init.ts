/**
 * MIT's GSS-API initiator through koffi (libgssapi_krb5.so.2), run as a child process so
 * KRB5CCNAME and KRB5_CONFIG are its own:
 *   node dist/test/dc/mit-gss-init.js SERVICE@HOST [APPLICATION_DATA_HEX]
 * prints the base64 of the Kerberos V5 initial context token gss_init_sec_context makes
 * (mutual, integrity, confidentiality), with channel bindings whose application data is
 * the given bytes (RFC 2744 §3.11, no addresses). Exit 1 with MIT's status on failure.
 */
import koffi from "koffi";

// `node --test dist/test/` runs every .js under it, this helper too: without its argument
// it does nothing (the suite that uses it is mit-gss-bindings.test.ts).
if (process.argv.length < 3) process.exit(0);

const lib = koffi.load("libgssapi_krb5.so.2");
const Buffer_ = koffi.struct("gss_buffer_desc", { length: "size_t", value: "void *" });
koffi.struct("gss_channel_bindings_struct", {
  initiator_addrtype: "uint32",
  initiator_address: Buffer_,
  acceptor_addrtype: "uint32",
  acceptor_address: Buffer_,
  application_data: Buffer_,
});
const importName = lib.func(
  "uint32 gss_import_name(_Out_ uint32 *minor, gss_buffer_desc *name, void *type, _Out_ void **out)",
);
const initSecContext = lib.func(
  "uint32 gss_init_sec_context(_Out_ uint32 *minor, void *cred, _Inout_ void **ctx, void *target, void *mech, uint32 flags, uint32 time, gss_channel_bindings_struct *cb, void *input, void *actual, _Out_ gss_buffer_desc *output, void *retFlags, void *timeRec)",
);
/** The value of an exported `gss_OID` variable. */
const oid = (name: string) => koffi.decode(lib.symbol(name, "void *"), "void *");

const [service = "", appHex] = process.argv.slice(2);
const minor = [0];
const name = Buffer.from(service);
const target: unknown[] = [null];
let major = importName(
  minor,
  { length: name.length, value: name },
  oid("GSS_C_NT_HOSTBASED_SERVICE"),
  target,
);
if (major !== 0) {
  console.error(`gss_import_name: major 0x${major.toString(16)} minor ${minor[0]}`);
  process.exit(1);
}
const app = Buffer.from(appHex ?? "", "hex");
const none = { length: 0, value: null };
const bindings =
  appHex === undefined
    ? null
    : {
        initiator_addrtype: 0,
        initiator_address: none,
        acceptor_addrtype: 0,
        acceptor_address: none,
        application_data: { length: app.length, value: app },
      };
const out: { length?: number | bigint; value?: unknown } = {};
major = initSecContext(
  minor,
  null,
  [null],
  target[0],
  oid("gss_mech_krb5"),
  2 | 16 | 32,
  0,
  bindings,
  null,
  null,
  out,
  null,
  null,
);
if (major !== 0 && major !== 1) {
  console.error(`gss_init_sec_context: major 0x${major.toString(16)} minor ${minor[0]}`);
  process.exit(1);
}
const token = koffi.decode(out.value, koffi.array("uint8", Number(out.length)));
console.log(Buffer.from(token as number[]).toString("base64"));
