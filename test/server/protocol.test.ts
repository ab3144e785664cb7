/** Unit tests of the shared validators in sdk/protocol.ts (the server's and the SDK's edge). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ERROR_CODES,
  isKnownErrorCode,
  parseClientMessage,
  parseFrame,
  parseServerMessage,
  selectProtocol,
} from '../../sdk/protocol.js';

describe('parseClientMessage', () => {
  test('accepts each client message and copies only known fields', () => {
    const join = parseClientMessage({ type: 'join', room: 'a-B_9', token: 't', resume: 'r', extra: 1, __proto__: { x: 1 } });
    assert.deepEqual(join, { ok: true, message: { type: 'join', room: 'a-B_9', token: 't', resume: 'r' } });
    assert.deepEqual(parseClientMessage({ type: 'signal', data: { sdp: 'v=0' } }), { ok: true, message: { type: 'signal', data: { sdp: 'v=0' } } });
    assert.deepEqual(parseClientMessage({ type: 'leave', why: 'x' }), { ok: true, message: { type: 'leave' } });
    assert.deepEqual(parseClientMessage({ type: 'ping' }), { ok: true, message: { type: 'ping' } });
  });

  test('refuses bad shapes with a reason, and a ref when the type is known', () => {
    const cases: Array<[unknown, string | undefined]> = [
      [null, undefined], [[], undefined], ['join', undefined], [{}, undefined], [{ type: 7 }, undefined],
      [{ type: 'dance' }, undefined],
      [{ type: 'join' }, 'join'], [{ type: 'join', room: '' }, 'join'], [{ type: 'join', room: 'a'.repeat(65) }, 'join'],
      [{ type: 'join', room: 'a b' }, 'join'], [{ type: 'join', room: 'ok', token: 1 }, 'join'],
      [{ type: 'join', room: 'ok', resume: null }, 'join'],
      [{ type: 'signal' }, 'signal'], [{ type: 'signal', data: [] }, 'signal'], [{ type: 'signal', data: 'x' }, 'signal'],
    ];
    for (const [value, ref] of cases) {
      const result = parseClientMessage(value);
      assert.equal(result.ok, false, JSON.stringify(value));
      if (!result.ok) {
        assert.ok(result.reason.length > 0);
        assert.equal(result.ref, ref, JSON.stringify(value));
      }
    }
  });
});

describe('parseServerMessage', () => {
  test('accepts a joined message and refuses one with a wrong field', () => {
    const joined = { type: 'joined', room: 'r', peerId: 'p', peers: [], polite: true, iceServers: [{ urls: 'stun:x' }], resume: 'z', graceMs: 15000 };
    assert.equal(parseServerMessage(joined).ok, true);
    assert.equal(parseServerMessage({ ...joined, polite: 'yes' }).ok, false);
    assert.equal(parseServerMessage({ ...joined, iceServers: [{ urls: 5 }] }).ok, false);
  });

  test('keeps unknown error codes (clients treat them as non-fatal)', () => {
    const result = parseServerMessage({ type: 'error', code: 'brand-new', message: 'm' });
    assert.deepEqual(result, { ok: true, message: { type: 'error', code: 'brand-new', message: 'm' } });
    assert.equal(isKnownErrorCode('brand-new'), false);
    for (const code of ERROR_CODES) assert.equal(isKnownErrorCode(code), true);
  });

  test('refuses unknown types and a bad peer-left reason', () => {
    assert.equal(parseServerMessage({ type: 'future' }).ok, false);
    assert.equal(parseServerMessage({ type: 'peer-left', peerId: 'p', reason: 'bored' }).ok, false);
  });
});

describe('parseFrame and selectProtocol', () => {
  test('parseFrame never throws, even on deep nesting', () => {
    assert.equal(parseFrame('{').ok, false);
    assert.equal(parseFrame('['.repeat(200_000)).ok, false);
    assert.deepEqual(parseFrame('{"a":1}'), { ok: true, value: { a: 1 } });
  });

  test('selectProtocol picks the supported one or nothing', () => {
    assert.equal(selectProtocol(['p2p-call.v0', 'p2p-call.v1']), 'p2p-call.v1');
    assert.equal(selectProtocol(['p2p-call.v9']), undefined);
    assert.equal(selectProtocol([]), undefined);
  });
});
