/**
 * IP address parsing for service mappings and host identity. Addresses are
 * compared as bytes, so "::1", "0:0:0:0:0:0:0:1" and "::ffff:127.0.0.1"
 * style spellings in a config meet the RFC 5952 strings the TCP layer
 * produces.
 */

export interface ParsedAddress {
  version: 4 | 6;
  /** 4 bytes for IPv4 (IPv4-mapped IPv6 is folded to IPv4), 16 for IPv6. */
  bytes: Uint8Array;
}

export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (p.length === 0 || p.length > 3 || !/^\d+$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

export function parseIPv6(input: string): Uint8Array | undefined {
  let text = input;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (text.length < 2 || text.length > 45) return undefined;
  const out = new Uint8Array(16);
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups: number[] = [];
    const items = s.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIPv4(item);
        if (!v4) return undefined;
        groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return undefined;
        groups.push(parseInt(item, 16));
      }
    }
    return groups;
  };
  const head = parseGroups(halves[0]);
  const tail = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i] >> 8;
    out[i * 2 + 1] = groups[i] & 0xff;
  }
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

export function parseAddress(text: string): ParsedAddress | undefined {
  const v4 = parseIPv4(text);
  if (v4) return { version: 4, bytes: v4 };
  const v6 = parseIPv6(text);
  if (!v6) return undefined;
  if (isV4Mapped(v6)) return { version: 4, bytes: v6.slice(12) };
  return { version: 6, bytes: v6 };
}

/** One spelling per address: dotted quad, or RFC 5952 compressed lowercase IPv6. */
export function formatAddress(a: ParsedAddress): string {
  if (a.version === 4) return `${a.bytes[0]}.${a.bytes[1]}.${a.bytes[2]}.${a.bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((a.bytes[i * 2] << 8) | a.bytes[i * 2 + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Canonical spelling of an address string; the input unchanged when it is not an IP literal. */
export function canonicalAddress(text: string): string {
  const parsed = parseAddress(text);
  return parsed ? formatAddress(parsed) : text;
}

export function isLoopback(text: string): boolean {
  const a = parseAddress(text);
  return a !== undefined && isLoopbackParsed(a);
}

export interface Cidr {
  version: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseAddress(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!addr || !/^\d{1,3}$/.test(prefixText)) return undefined;
  let prefix = Number(prefixText);
  // "::ffff:10.0.0.0/104" names the IPv4 block 10.0.0.0/8.
  if (addr.version === 4 && parseIPv4(text.slice(0, slash)) === undefined) prefix -= 96;
  if (prefix < 0 || prefix > addr.bytes.length * 8) return undefined;
  return { version: addr.version, bytes: addr.bytes, prefix };
}

export function cidrContains(cidr: Cidr, a: ParsedAddress): boolean {
  if (cidr.version !== a.version) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((cidr.bytes[i] & mask) !== (a.bytes[i] & mask)) return false;
  }
  return true;
}

/**
 * The host an address belongs to, for linking calls to the server span that
 * made them. Every loopback address is one host: a service listening on ::1
 * may well call out from 127.0.0.1.
 */
export function hostKey(address: string): string {
  let key = hostKeys.get(address);
  if (key === undefined) {
    const a = parseAddress(address);
    key = !a ? address : isLoopbackParsed(a) ? 'loopback' : formatAddress(a);
    // Called twice per exchange with few distinct addresses: remember them, within bounds.
    if (hostKeys.size >= 65_536) hostKeys.clear();
    hostKeys.set(address, key);
  }
  return key;
}

const hostKeys = new Map<string, string>();

function isLoopbackParsed(a: ParsedAddress): boolean {
  if (a.version === 4) return a.bytes[0] === 127;
  for (let i = 0; i < 15; i++) if (a.bytes[i] !== 0) return false;
  return a.bytes[15] === 1;
}
