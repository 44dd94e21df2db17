/**
 * Hashes for the connection table and connection ids. The table key must be
 * the same for both directions of a connection and cost no allocation.
 */
import { endpointKey, type Endpoint } from '../../model/endpoint.js';

export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of one endpoint: its address as 32-bit words (IPv4: word 0 only, the rest 0) and its port. */
export function endpointHash(w0: number, w1: number, w2: number, w3: number, port: number): number {
  let h = mix32(port ^ w0);
  if ((w1 | w2 | w3) !== 0) h = mix32(h ^ w1 ^ Math.imul(w2, 0x27d4eb2d) ^ Math.imul(w3, 0x165667b1));
  return h;
}

/**
 * Direction-independent table key of two endpoint hashes, kept within 30
 * bits so V8 stores the Map keys as small integers.
 */
export function pairKey(hashA: number, hashB: number, addrLen: number): number {
  const lo = hashA < hashB ? hashA : hashB;
  const hi = hashA < hashB ? hashB : hashA;
  return mix32(Math.imul(lo, 0x9e3779b1) ^ hi ^ addrLen) & 0x3fffffff;
}

/** 64-bit FNV-1a-style hash of both endpoints and the first-seen time, as 16 hex digits. */
export function connectionId(client: Endpoint, server: Endpoint, sec: number, nsec: number): string {
  const text = `${endpointKey(client)}>${endpointKey(server)}@${sec}.${nsec}`;
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 0x01000193);
    h2 = Math.imul(h2 ^ ch, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h1 = mix32(h1 ^ h2);
  h2 = mix32(h2 ^ h1);
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}
