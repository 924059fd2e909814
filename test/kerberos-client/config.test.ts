/** krb5.conf(5) as MIT reads it: sections, multi-line realm blocks, [domain_realm], errors. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  Krb5ConfigError,
  kdcsOf,
  libdefaultInt,
  mergeKrb5Configs,
  parseDuration,
  parseKdcAddress,
  parseKrb5Conf,
  realmOfHost,
} from "../../src/kerberos/config.js";

const SAMPLE = `# a comment
; another
[libdefaults]
  default_realm = MIT.TEST
  udp_preference_limit = 1
  permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96

[realms]
  MIT.TEST = {
    kdc = 127.0.0.1:8888
    kdc = kdc2.mit.test
    kdc = [::1]:750
    admin_server = kdc.mit.test
    auth_to_local = {
      x = y
    }
  }
  AD.TEST = {
    kdc = dc1.ad.test
  }

[domain_realm]
  .mit.test = MIT.TEST
  host.other.test = AD.TEST
`;

describe("krb5.conf parser", () => {
  it("reads libdefaults, multi-line realm blocks with several kdc lines, domain_realm", () => {
    const c = parseKrb5Conf(SAMPLE);
    assert.equal(c.libdefaults.default_realm, "MIT.TEST");
    assert.equal(libdefaultInt(c, "udp_preference_limit", 1465), 1);
    assert.deepEqual(kdcsOf(c, "MIT.TEST"), [
      { host: "127.0.0.1", port: 8888 },
      { host: "kdc2.mit.test", port: 88 },
      { host: "::1", port: 750 },
    ]);
    assert.equal(c.realms["MIT.TEST"]?.adminServer, "kdc.mit.test");
    assert.equal(realmOfHost(c, "ws1.mit.test"), "MIT.TEST");
    assert.equal(realmOfHost(c, "HOST.other.test"), "AD.TEST");
    assert.equal(realmOfHost(c, "elsewhere.test"), undefined);
  });

  it("names the file and line of a syntax error", () => {
    assert.throws(
      () => parseKrb5Conf("[realms]\n X = {\n  kdc 1.2.3.4\n }\n", "/etc/k.conf"),
      /\/etc\/k\.conf line 3: expected 'tag = value'/,
    );
    assert.throws(() => parseKrb5Conf("[realms]\n X = {\n kdc = a\n"), /not closed/);
    assert.throws(() => parseKrb5Conf("}\n"), /without an open block/);
    assert.throws(() => parseKrb5Conf("a = b\n"), /before any \[section\]/);
    assert.throws(() => parseKdcAddress("host:99999"), /not in 1\.\.65535/);
  });

  it("a realm without KDCs is one line saying how to fix it", () => {
    assert.throws(
      () => kdcsOf(parseKrb5Conf(SAMPLE), "NONE.TEST"),
      (e: unknown) =>
        e instanceof Krb5ConfigError && /no KDC known for realm NONE\.TEST/.test(e.message),
    );
  });

  it("merges files: the first to set a libdefaults tag wins", () => {
    const a = parseKrb5Conf("[libdefaults]\n default_realm = A\n");
    const b = parseKrb5Conf("[libdefaults]\n default_realm = B\n ticket_lifetime = 1h\n");
    const m = mergeKrb5Configs([a, b]);
    assert.equal(m.libdefaults.default_realm, "A");
    assert.equal(m.libdefaults.ticket_lifetime, "1h");
  });

  it("durations as krb5.conf writes them", () => {
    assert.equal(parseDuration("10h"), 36000);
    assert.equal(parseDuration("7d"), 604800);
    assert.equal(parseDuration("1h30m"), 5400);
    assert.equal(parseDuration("36000"), 36000);
    assert.equal(parseDuration("10:00:00"), 36000);
    assert.throws(() => parseDuration("ten hours"), /cannot read/);
  });
});
