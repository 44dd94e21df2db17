/**
 * Capture time. The hot path passes seconds and nanoseconds as two plain
 * numbers (a nanosecond epoch does not fit a double exactly); completed
 * messages carry an OpenTelemetry-compatible `HrTime` tuple.
 */
export type HrTime = [seconds: number, nanos: number];

export function hrTime(sec: number, nsec: number): HrTime {
  return [sec, nsec];
}

/** Seconds as a double: good to about a microsecond, enough for timeouts and ordering. */
export function hrToSeconds(t: HrTime): number {
  return t[0] + t[1] / 1e9;
}

/** a - b in nanoseconds (a double; exact for differences under ~104 days). */
export function hrDiffNanos(a: HrTime, b: HrTime): number {
  return (a[0] - b[0]) * 1e9 + (a[1] - b[1]);
}

export function hrCompare(a: HrTime, b: HrTime): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

export function hrAddNanos(t: HrTime, nanos: number): HrTime {
  let sec = t[0] + Math.trunc(nanos / 1e9);
  let ns = t[1] + (nanos % 1e9);
  if (ns >= 1e9) {
    sec += 1;
    ns -= 1e9;
  } else if (ns < 0) {
    sec -= 1;
    ns += 1e9;
  }
  return [sec, ns];
}

export function hrToNanosString(t: HrTime): string {
  return (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
}
