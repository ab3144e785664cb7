/**
 * Join tokens: HS256 JWTs whose `room` claim names the room (or `"*"` for any room), with a
 * required `exp` and an optional `nbf`, each checked with 30 s of clock leeway. Verified with
 * jose, the standard JOSE library, so no JWT parsing is hand-written here.
 */
import { jwtVerify } from 'jose';

export const TOKEN_CLOCK_LEEWAY_S = 30;

export type TokenCheck = { ok: true } | { ok: false; reason: string };

export class JoinTokenVerifier {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  async verify(token: string | undefined, room: string): Promise<TokenCheck> {
    if (token === undefined) return { ok: false, reason: 'this server requires a join token' };
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        clockTolerance: TOKEN_CLOCK_LEEWAY_S,
        requiredClaims: ['exp'],
      });
      const claim = payload['room'];
      if (claim !== room && claim !== '*') return { ok: false, reason: 'the token is for another room' };
      return { ok: true };
    } catch (error) {
      // jose's messages name the failed check (expired, signature, alg) and never echo the token.
      const detail = error instanceof Error ? error.message : 'invalid token';
      return { ok: false, reason: `the join token is not valid: ${detail}` };
    }
  }
}
