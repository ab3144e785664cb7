/**
 * Keeps a log line that a client can trigger at will (a refused upgrade, an invalid frame) from
 * filling a disk: at most `perWindow` lines per kind per window, then one line that says how many
 * were left out. Counters in `/metrics` carry the full numbers.
 */
export class LogLimiter {
  private windowStart = -Infinity;
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly perWindow = 10,
    private readonly windowMs = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Whether a line of `kind` may be written now. When a new window starts, `onSuppressed` is told
   * how many lines of each kind the last one left out.
   */
  allow(kind: string, onSuppressed: (kind: string, count: number) => void): boolean {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      for (const [name, count] of this.counts) if (count > this.perWindow) onSuppressed(name, count - this.perWindow);
      this.counts.clear();
      this.windowStart = now;
    }
    const count = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, count);
    return count <= this.perWindow;
  }
}

/** A client-supplied string cut to `max` characters for a log line. */
export function truncate(value: string | undefined, max = 128): string | undefined {
  if (value === undefined || value.length <= max) return value;
  return `${value.slice(0, max)}…(${value.length} chars)`;
}
