/**
 * Token buckets per IAM operation, as IAM throttles: account-wide, per API, refilled continuously.
 * Time is the emulator's simulated clock, so throttling scales with the time scale.
 */
export interface BucketSettings {
  /** Tokens added per simulated second. */
  readonly rps: number;
  /** Bucket size: calls allowed at once after a quiet period. @default rps (one second's worth, at least 1) */
  readonly burst?: number;
}

export interface ThrottleSettings extends BucketSettings {
  /** Settings for single operations that replace the account-wide default. */
  readonly operations?: Readonly<Record<string, BucketSettings>>;
}

class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly burst: number;

  constructor(private readonly rps: number, burst: number | undefined, now: number) {
    if (!(rps > 0)) throw new RangeError(`throttle rps must be positive, got ${rps}`);
    this.burst = burst ?? Math.max(1, rps);
    if (!(this.burst >= 1)) throw new RangeError(`throttle burst must be at least 1, got ${burst}`);
    this.tokens = this.burst;
    this.last = now;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rps);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class Throttle {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly settings: ThrottleSettings | undefined) {}

  /** True when the call may proceed; false when IAM would answer Throttling. */
  admit(operation: string, now: number): boolean {
    if (!this.settings) return true;
    let bucket = this.buckets.get(operation);
    if (!bucket) {
      const own = this.settings.operations?.[operation] ?? this.settings;
      bucket = new TokenBucket(own.rps, own.burst, now);
      this.buckets.set(operation, bucket);
    }
    return bucket.take(now);
  }
}
