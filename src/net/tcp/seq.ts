/**
 * TCP sequence arithmetic. Sequence numbers are unsigned 32-bit and wrap, so
 * "before" and "after" only make sense as the signed distance modulo 2^32
 * (RFC 793 / RFC 1982 serial number arithmetic).
 */

/** a − b modulo 2^32, as a signed 32-bit number: > 0 when a is after b. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** a + n modulo 2^32, as an unsigned 32-bit number. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/**
 * How far ahead of the delivery point a sequence number may lie and still be
 * believed. 2^30 is TCP's largest possible window (RFC 7323); anything
 * beyond is garbage or another connection's sequence space.
 */
export const SEQ_WINDOW = 1 << 30;
