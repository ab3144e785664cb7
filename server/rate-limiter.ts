/**
 * Per-socket flood control: a token bucket for the message rate and a sliding-window counter
 * for "too many bad things in a short time". The clock is injected so tests can drive it.
 */

export type Clock = () => number;

export const monotonicClock: Clock = () => performance.now();

/** Refills at `ratePerSecond` up to `burst`; starts full, so a client at or under the rate is never limited. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: Clock = monotonicClock,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes one token; false when the bucket is empty (the message is over the rate). */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until one token is available again (0 if one is available now). */
  msUntilNext(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
  }
}

/** Counts events in the last `windowMs`; `hit()` returns the count including this one. */
export class SlidingWindowCounter {
  private readonly times: number[] = [];

  constructor(
    private readonly windowMs: number,
    private readonly now: Clock = monotonicClock,
  ) {}

  hit(): number {
    const now = this.now();
    this.times.push(now);
    while (this.times.length > 0 && (this.times[0] as number) <= now - this.windowMs) this.times.shift();
    return this.times.length;
  }
}
