/**
 * Rekey collisions (RFC 7296 §2.8.1 child SAs, §2.8.2 IKE SAs), the engine alone (two engines, fake network, manual
 * clock): both sides rekey the same child SA at once; of the two new SAs the one whose
 * exchange holds the lowest of the four nonces is deleted by its creator, leaving one pair.
 * Nonces are random, so the test runs the collision several times (both sides lose in turn).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { B, pair, settle } from "./helpers.js";

describe("rekey collisions (RFC 7296 §2.8.1, §2.8.2)", () => {
  it("both sides rekey the same child SA at once: one new pair remains, the same on both", async (t) => {
    const losers = { a: 0, b: 0 };
    for (let run = 0; run < 8; run++) {
      const { a, b } = pair();
      a.engine.initiate(`to-${B}`);
      await settle();
      const old = a.children[0]!;
      assert.ok(a.engine.rekeyChild(old.spiIn));
      assert.ok(b.engine.rekeyChild(old.spiOut));
      await settle();
      const left = (s: typeof a) => s.engine.sas()[0]?.children ?? [];
      assert.equal(left(a).length, 1, `A keeps one child SA: ${a.logs.join("\n")}`);
      assert.equal(left(b).length, 1, `B keeps one child SA: ${b.logs.join("\n")}`);
      const mine = a.children.find((c) => c.spiIn === left(a)[0]);
      assert.equal(mine?.spiOut, left(b)[0], "the pair mirrors");
      assert.notEqual(mine?.spiIn, old.spiIn, "the old SA is gone");
      assert.equal(a.children.length, 3, "each side installed both new SAs ...");
      assert.equal(b.children.length, 3);
      assert.equal(a.deleted.length, 2, "... and removed the old one and the redundant one");
      assert.equal(b.deleted.length, 2);
      const saw = (s: typeof a) => s.logs.some((l) => l.includes("the peer rekeys it as we do"));
      assert.ok(saw(a) && saw(b), "both sides saw the collision");
      const lost = (s: typeof a) =>
        s.logs.some((l) => l.includes("is redundant (RFC 7296 §2.8.1)"));
      assert.notEqual(lost(a), lost(b), "exactly one side deleted its new SA");
      if (lost(a)) losers.a++;
      else losers.b++;
      // The survivor was created by the side that did not lose.
      assert.equal(mine?.initiator, lost(b));
      a.engine.close();
      b.engine.close();
    }
    t.diagnostic(`redundant SA created by A in ${losers.a} runs, by B in ${losers.b}`);
  });

  it("a rekey for a child SA we are deleting gets TEMPORARY_FAILURE; one we lack, CHILD_SA_NOT_FOUND", async () => {
    const { net, a, b } = pair();
    a.engine.initiate(`to-${B}`);
    await settle();
    const old = a.children[0]!;
    // A's rekey completes (and A deletes the old SA) before B's rekey request reaches A.
    let held: Parameters<Parameters<typeof net.setFilter>[0]>[0] | null = null;
    net.setFilter((d) => {
      if (
        held === null &&
        d.local.address === B &&
        d.data[18] === 36 &&
        (d.data[19]! & 0x20) === 0
      ) {
        held = d;
        return null;
      }
      return d;
    });
    a.engine.rekeyChild(old.spiIn);
    b.engine.rekeyChild(old.spiOut);
    await settle();
    assert.ok(held, "B's request was held back");
    net.setFilter((d) => d);
    void a.engine.receive(held!);
    await settle();
    assert.ok(
      a.logs.some((l) => /which we are deleting: TEMPORARY_FAILURE|CHILD_SA_NOT_FOUND/.test(l)),
      a.logs.join("\n"),
    );
    assert.equal(a.engine.sas()[0]?.children.length, 1);
    assert.equal(b.engine.sas()[0]?.children.length, 1);
  });

  it("both sides rekey the IKE SA at once: one new IKE SA remains, the same on both, with the child SA", async (t) => {
    const losers = { a: 0, b: 0 };
    for (let run = 0; run < 8; run++) {
      const { a, b } = pair();
      a.engine.initiate(`to-${B}`);
      await settle();
      const first = a.engine.sas()[0]!;
      const child = a.children[0]!;
      assert.ok(a.engine.rekeyIkeSa(first.spis));
      assert.ok(b.engine.rekeyIkeSa(first.spis));
      await settle();
      const as = a.engine.sas();
      const bs = b.engine.sas();
      assert.equal(as.length, 1, `A keeps one IKE SA: ${JSON.stringify(as)}\n${a.logs.join("\n")}`);
      assert.equal(bs.length, 1, `B keeps one IKE SA: ${JSON.stringify(bs)}\n${b.logs.join("\n")}`);
      assert.equal(as[0]?.spis, bs[0]?.spis, "the same IKE SA on both");
      assert.notEqual(as[0]?.spis, first.spis, "the old IKE SA is gone");
      assert.equal(as[0]?.state, "established");
      assert.deepEqual(as[0]?.children, [child.spiIn], "the child SA moved to the survivor on A");
      assert.deepEqual(bs[0]?.children, [child.spiOut], "and on B");
      assert.deepEqual(a.deleted, []);
      assert.deepEqual(b.deleted, []);
      const saw = (s: typeof a) =>
        s.logs.some((l) => l.includes("IKE SA rekey collision: the peer rekeys it"));
      assert.ok(saw(a) && saw(b), "both sides saw the collision");
      const lost = (s: typeof a) =>
        s.logs.some((l) => l.includes("is redundant (RFC 7296 §2.8.2)"));
      assert.notEqual(lost(a), lost(b), "exactly one side deleted its new IKE SA");
      if (lost(a)) losers.a++;
      else losers.b++;
      // The survivor still works: a child SA rekey on it completes.
      assert.ok(a.engine.rekeyChild(child.spiIn));
      await settle();
      assert.equal(a.engine.sas()[0]?.children.length, 1);
      assert.notEqual(a.engine.sas()[0]?.children[0], child.spiIn);
      a.engine.close();
      b.engine.close();
    }
    t.diagnostic(`redundant IKE SA created by A in ${losers.a} runs, by B in ${losers.b}`);
  });
});
