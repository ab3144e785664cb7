/**
 * Unit tests of the flood-control primitives with an injected clock, so time is exact and no
 * test waits on the wall clock. Rates are chosen so that every refill is exact in binary
 * floating point (e.g. 4/s and 250 ms), which lets the tests assert exact boundaries.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SlidingWindowCounter, TokenBucket } from '../../server/rate-limiter.js';

function fakeClock(start = 1_000) {
  let now = start;
  return {
    clock: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** Takes tokens until refused (bounded); returns how many were granted. */
function drain(bucket: TokenBucket, max = 10_000): number {
  let granted = 0;
  while (granted < max && bucket.take()) granted++;
  return granted;
}

describe('TokenBucket: starts full at the burst size', () => {
  test('a new bucket grants exactly `burst` tokens at once, then refuses', () => {
    const { clock } = fakeClock();
    const bucket = new TokenBucket(10, 20, clock);
    assert.equal(drain(bucket), 20);
    assert.equal(bucket.take(), false);
  });

  test('a long idle time refills up to the burst and no further', () => {
    const { clock, advance } = fakeClock();
    const bucket = new TokenBucket(10, 20, clock);
    assert.equal(drain(bucket), 20);
    advance(3_600_000);
    assert.equal(drain(bucket), 20);
  });
});

describe('TokenBucket: refills exactly at the rate', () => {
  test('an empty bucket at 4/s has no token after 249 ms and exactly one after 250 ms', () => {
    const { clock, advance } = fakeClock();
    const bucket = new TokenBucket(4, 8, clock);
    assert.equal(drain(bucket), 8);
    advance(249);
    assert.equal(bucket.take(), false);
    advance(1);
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false);
  });

  test('one second after emptying, a 10/s bucket grants exactly 10', () => {
    const { clock, advance } = fakeClock();
    const bucket = new TokenBucket(10, 20, clock);
    assert.equal(drain(bucket), 20);
    advance(1000);
    assert.equal(drain(bucket), 10);
  });

  test('a refused take does not cost a token', () => {
    const { clock, advance } = fakeClock();
    const bucket = new TokenBucket(4, 8, clock);
    drain(bucket);
    for (let i = 0; i < 50; i++) assert.equal(bucket.take(), false);
    advance(250);
    assert.equal(bucket.take(), true);
  });
});

describe('TokenBucket: a client at or under the rate is never refused', () => {
  test('one message every 10 ms at 100/s for 10 simulated seconds is always granted', () => {
    const { clock, advance } = fakeClock();
    const bucket = new TokenBucket(100, 200, clock);
    for (let i = 0; i < 1000; i++) {
      assert.equal(bucket.take(), true, `message ${i} at ${i * 10} ms was refused`);
      advance(10);
    }
  });

  test('after emptying the burst, a client at exactly 10/s is granted every message for 10 s', () => {
    const { clock, advance } = fakeClock();
    const bucket = new TokenBucket(10, 20, clock);
    drain(bucket);
    for (let i = 0; i < 100; i++) {
      advance(100);
      assert.equal(bucket.take(), true, `message ${i} was refused`);
      // Exactly at the rate: nothing is left over for an extra message.
      assert.equal(bucket.take(), false, `message ${i} left a spare token`);
    }
  });

  test('a client at 3/s (a rate whose interval is not exact in binary) is never refused', () => {
    const { clock, advance } = fakeClock();
    const bucket = new TokenBucket(3, 6, clock);
    for (let i = 0; i < 30; i++) {
      assert.equal(bucket.take(), true, `message ${i} was refused`);
      advance(1000 / 3);
    }
  });
});

describe('TokenBucket: msUntilNext tells when the next token is due', () => {
  test('0 while a token is available', () => {
    const { clock } = fakeClock();
    const bucket = new TokenBucket(4, 8, clock);
    assert.equal(bucket.msUntilNext(), 0);
  });

  test('a full interval right after emptying, the rest of it later, 0 when due', () => {
    const { clock, advance } = fakeClock();
    const bucket = new TokenBucket(4, 8, clock);
    drain(bucket);
    assert.equal(bucket.msUntilNext(), 250);
    advance(125);
    assert.equal(bucket.msUntilNext(), 125);
    advance(125);
    assert.equal(bucket.msUntilNext(), 0);
    assert.equal(bucket.take(), true);
  });

  test('asking does not consume a token', () => {
    const { clock } = fakeClock();
    const bucket = new TokenBucket(4, 2, clock);
    for (let i = 0; i < 10; i++) bucket.msUntilNext();
    assert.equal(drain(bucket), 2);
  });
});

describe('SlidingWindowCounter: counts the hits of the last window only', () => {
  test('hits within the window accumulate, including the current one', () => {
    const { clock, advance } = fakeClock(0);
    const counter = new SlidingWindowCounter(10_000, clock);
    assert.equal(counter.hit(), 1);
    advance(5_000);
    assert.equal(counter.hit(), 2);
    advance(4_999);
    assert.equal(counter.hit(), 3);
  });

  test('hits older than the window are forgotten', () => {
    const { clock, advance } = fakeClock(0);
    const counter = new SlidingWindowCounter(10_000, clock);
    counter.hit(); // t=0
    advance(5_000);
    counter.hit(); // t=5000
    advance(5_001);
    assert.equal(counter.hit(), 2, 'the hit at t=0 is older than 10 s at t=10001'); // t=10001
    advance(20_000);
    assert.equal(counter.hit(), 1, 'everything before t=20001 is forgotten');
  });

  test('21 hits at the same instant count 21 (the invalid-message flood threshold)', () => {
    const { clock } = fakeClock(0);
    const counter = new SlidingWindowCounter(10_000, clock);
    let count = 0;
    for (let i = 0; i < 21; i++) count = counter.hit();
    assert.equal(count, 21);
  });
});
