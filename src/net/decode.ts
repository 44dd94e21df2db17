/**
 * Link layer → IP → TCP, in place on the captured bytes. One TcpSegment is
 * reused for every packet; addresses stay byte offsets into the frame.
 */
import { LinkType, type PacketSink, type RawPacket, type SegmentSink, type TcpSegment } from '../model/packet.js';
import type { Stats } from '../model/stats.js';

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
/** Pre-standard QinQ outer tag still sent by some switches. */
const ETHERTYPE_QINQ_LEGACY = 0x9100;
const MAX_VLAN_TAGS = 8;

const ETHERNET_HEADER = 14;
const SLL_HEADER = 16;
const SLL2_HEADER = 20;
const NULL_HEADER = 4;

/** BSD address families in DLT_NULL / DLT_LOOP headers. */
const AF_INET = 2;
const AF_INET6_LINUX = 10;
const AF_INET6_BSD = 24;
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;

/** Old libpcap wrote DLT_RAW's platform values into files. */
const LINKTYPE_RAW_OPENBSD = 12;
const LINKTYPE_RAW_BSDOS = 14;

const IPPROTO_HOPOPTS = 0;
const IPPROTO_TCP = 6;
const IPPROTO_ROUTING = 43;
const IPPROTO_FRAGMENT = 44;
const IPPROTO_ESP = 50;
const IPPROTO_AH = 51;
const IPPROTO_NONE = 59;
const IPPROTO_DSTOPTS = 60;
const IPPROTO_MOBILITY = 135;
const IPPROTO_HIP = 139;
const IPPROTO_SHIM6 = 140;
const MAX_IPV6_EXTENSION_HEADERS = 16;

/** Reasons counted in stats.undecodable. */
export const UndecodableReason = {
  unsupportedLinkType: 'unsupported-link-type',
  truncatedLinkHeader: 'truncated-link-header',
  tooManyVlanTags: 'too-many-vlan-tags',
  truncatedIpHeader: 'truncated-ip-header',
  badIpVersion: 'bad-ip-version',
  badIpv4HeaderLength: 'bad-ipv4-header-length',
  badIpTotalLength: 'bad-ip-total-length',
  ipFragment: 'ip-fragment',
  badIpv6ExtensionHeader: 'bad-ipv6-extension-header',
  truncatedTcpHeader: 'truncated-tcp-header',
  badTcpHeaderLength: 'bad-tcp-header-length',
} as const;

export class PacketDecoder implements PacketSink {
  readonly #sink: SegmentSink;
  readonly #stats: Stats;
  readonly #segment: TcpSegment = {
    data: Buffer.alloc(0),
    ipVersion: 4,
    addrLen: 4,
    srcAddrOffset: 0,
    dstAddrOffset: 0,
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    payloadOffset: 0,
    payloadLen: 0,
    payloadOrigLen: 0,
    tsSec: 0,
    tsNsec: 0,
  };
  /** Where the frame's wire bytes end (offset + origLen): IP lengths beyond it are lies. */
  #frameOrigEnd = 0;

  constructor(sink: SegmentSink, stats: Stats) {
    this.#sink = sink;
    this.#stats = stats;
  }

  onPacket(pkt: RawPacket): void {
    const stats = this.#stats;
    stats.packets++;
    stats.bytes += pkt.origLen;
    const buf = pkt.data;
    const off = pkt.offset;
    const end = off + pkt.capLen;
    this.#frameOrigEnd = off + pkt.origLen;
    const seg = this.#segment;
    seg.tsSec = pkt.tsSec;
    seg.tsNsec = pkt.tsNsec;
    switch (pkt.linkType) {
      case LinkType.ETHERNET:
        if (end - off < ETHERNET_HEADER) return this.#undecodable(UndecodableReason.truncatedLinkHeader);
        return this.#etherType(buf, buf.readUInt16BE(off + 12), off + ETHERNET_HEADER, end);
      case LinkType.LINUX_SLL:
        if (end - off < SLL_HEADER) return this.#undecodable(UndecodableReason.truncatedLinkHeader);
        return this.#etherType(buf, buf.readUInt16BE(off + 14), off + SLL_HEADER, end);
      case LinkType.LINUX_SLL2:
        if (end - off < SLL2_HEADER) return this.#undecodable(UndecodableReason.truncatedLinkHeader);
        return this.#etherType(buf, buf.readUInt16BE(off), off + SLL2_HEADER, end);
      case LinkType.NULL: {
        if (end - off < NULL_HEADER) return this.#undecodable(UndecodableReason.truncatedLinkHeader);
        // Host byte order of the machine that captured: a family is small, so the other order reads huge.
        let family = buf.readUInt32LE(off);
        if (family > 0xffff) family = buf.readUInt32BE(off);
        return this.#addressFamily(buf, family, off + NULL_HEADER, end);
      }
      case LinkType.LOOP:
        if (end - off < NULL_HEADER) return this.#undecodable(UndecodableReason.truncatedLinkHeader);
        return this.#addressFamily(buf, buf.readUInt32BE(off), off + NULL_HEADER, end);
      case LinkType.RAW:
      case LINKTYPE_RAW_OPENBSD:
      case LINKTYPE_RAW_BSDOS:
        return this.#rawIp(buf, off, end);
      case LinkType.IPV4:
        return this.#ipv4(buf, off, end);
      case LinkType.IPV6:
        return this.#ipv6(buf, off, end);
      default:
        return this.#undecodable(UndecodableReason.unsupportedLinkType);
    }
  }

  #etherType(buf: Buffer, type: number, off: number, end: number): void {
    for (let tags = 0; type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_LEGACY; tags++) {
      if (tags === MAX_VLAN_TAGS) return this.#undecodable(UndecodableReason.tooManyVlanTags);
      if (end - off < 4) return this.#undecodable(UndecodableReason.truncatedLinkHeader);
      type = buf.readUInt16BE(off + 2);
      off += 4;
    }
    if (type === ETHERTYPE_IPV4) return this.#ipv4(buf, off, end);
    if (type === ETHERTYPE_IPV6) return this.#ipv6(buf, off, end);
    // ARP, LLDP, and 802.3 frames whose "type" is a length (< 0x600, LLC/SNAP): not IP, not broken.
    this.#stats.nonTcpPackets++;
  }

  #addressFamily(buf: Buffer, family: number, off: number, end: number): void {
    if (family === AF_INET) return this.#ipv4(buf, off, end);
    if (family === AF_INET6_BSD || family === AF_INET6_FREEBSD || family === AF_INET6_DARWIN || family === AF_INET6_LINUX) {
      return this.#ipv6(buf, off, end);
    }
    this.#stats.nonTcpPackets++;
  }

  #rawIp(buf: Buffer, off: number, end: number): void {
    if (end - off < 1) return this.#undecodable(UndecodableReason.truncatedIpHeader);
    const version = buf[off] >> 4;
    if (version === 4) return this.#ipv4(buf, off, end);
    if (version === 6) return this.#ipv6(buf, off, end);
    this.#undecodable(UndecodableReason.badIpVersion);
  }

  #ipv4(buf: Buffer, off: number, end: number): void {
    if (end - off < 20) return this.#undecodable(UndecodableReason.truncatedIpHeader);
    const versionIhl = buf[off];
    if (versionIhl >> 4 !== 4) return this.#undecodable(UndecodableReason.badIpVersion);
    const headerLen = (versionIhl & 0x0f) * 4;
    if (headerLen < 20) return this.#undecodable(UndecodableReason.badIpv4HeaderLength);
    if (end - off < headerLen) return this.#undecodable(UndecodableReason.truncatedIpHeader);
    let totalLen = buf.readUInt16BE(off + 2);
    // Captured before segmentation offload, the sender's stack leaves the length 0: the frame is the packet.
    if (totalLen === 0) totalLen = this.#frameOrigEnd - off;
    if (totalLen < headerLen) return this.#undecodable(UndecodableReason.badIpTotalLength);
    const fragment = buf.readUInt16BE(off + 6);
    // More-fragments set or a non-zero offset: reassembly is out of scope, and a first fragment alone is a partial segment.
    if ((fragment & 0x3fff) !== 0) return this.#undecodable(UndecodableReason.ipFragment);
    if (buf[off + 9] !== IPPROTO_TCP) {
      this.#stats.nonTcpPackets++;
      return;
    }
    const seg = this.#segment;
    seg.ipVersion = 4;
    seg.addrLen = 4;
    seg.srcAddrOffset = off + 12;
    seg.dstAddrOffset = off + 16;
    // Ethernet pads short frames: the IP length, not the frame, says where the packet ends.
    this.#tcp(buf, off + headerLen, end, off + totalLen);
  }

  #ipv6(buf: Buffer, off: number, end: number): void {
    if (end - off < 40) return this.#undecodable(UndecodableReason.truncatedIpHeader);
    if (buf[off] >> 4 !== 6) return this.#undecodable(UndecodableReason.badIpVersion);
    const payloadLen = buf.readUInt16BE(off + 4);
    // 0: a jumbogram or an offloaded send; the frame bounds the packet.
    const packetEnd = payloadLen === 0 ? this.#frameOrigEnd : off + 40 + payloadLen;
    let next = buf[off + 6];
    let p = off + 40;
    for (let count = 0; next !== IPPROTO_TCP; count++) {
      if (count === MAX_IPV6_EXTENSION_HEADERS) return this.#undecodable(UndecodableReason.badIpv6ExtensionHeader);
      let extLen: number;
      switch (next) {
        case IPPROTO_HOPOPTS:
        case IPPROTO_ROUTING:
        case IPPROTO_DSTOPTS:
        case IPPROTO_MOBILITY:
        case IPPROTO_HIP:
        case IPPROTO_SHIM6:
          if (end - p < 2) return this.#undecodable(UndecodableReason.badIpv6ExtensionHeader);
          extLen = (buf[p + 1] + 1) * 8;
          break;
        case IPPROTO_AH:
          if (end - p < 2) return this.#undecodable(UndecodableReason.badIpv6ExtensionHeader);
          extLen = (buf[p + 1] + 2) * 4;
          break;
        case IPPROTO_FRAGMENT: {
          if (end - p < 8) return this.#undecodable(UndecodableReason.badIpv6ExtensionHeader);
          // An atomic fragment (offset 0, no more fragments) is a whole packet.
          if ((buf.readUInt16BE(p + 2) & 0xfff9) !== 0) return this.#undecodable(UndecodableReason.ipFragment);
          extLen = 8;
          break;
        }
        case IPPROTO_NONE:
        case IPPROTO_ESP:
        default:
          this.#stats.nonTcpPackets++;
          return;
      }
      next = buf[p];
      p += extLen;
      if (p > end || p > packetEnd) return this.#undecodable(UndecodableReason.badIpv6ExtensionHeader);
    }
    const seg = this.#segment;
    seg.ipVersion = 6;
    seg.addrLen = 16;
    seg.srcAddrOffset = off + 8;
    seg.dstAddrOffset = off + 24;
    this.#tcp(buf, p, end, packetEnd);
  }

  /** `end`: end of captured bytes; `ipEnd`: end of the IP packet by its own length. */
  #tcp(buf: Buffer, off: number, end: number, ipEnd: number): void {
    if (ipEnd > this.#frameOrigEnd) ipEnd = this.#frameOrigEnd;
    if (ipEnd - off < 20) return this.#undecodable(UndecodableReason.badIpTotalLength);
    if (end - off < 20) return this.#undecodable(UndecodableReason.truncatedTcpHeader);
    const headerLen = (buf[off + 12] >> 4) * 4;
    if (headerLen < 20 || headerLen > ipEnd - off) return this.#undecodable(UndecodableReason.badTcpHeaderLength);
    if (headerLen > end - off) return this.#undecodable(UndecodableReason.truncatedTcpHeader);
    const seg = this.#segment;
    seg.data = buf;
    seg.srcPort = buf.readUInt16BE(off);
    seg.dstPort = buf.readUInt16BE(off + 2);
    seg.seq = buf.readUInt32BE(off + 4);
    seg.ack = buf.readUInt32BE(off + 8);
    seg.flags = buf[off + 13];
    seg.window = buf.readUInt16BE(off + 14);
    const payloadOffset = off + headerLen;
    seg.payloadOffset = payloadOffset;
    seg.payloadOrigLen = ipEnd - payloadOffset;
    seg.payloadLen = (end < ipEnd ? end : ipEnd) - payloadOffset;
    this.#sink.onSegment(seg);
  }

  #undecodable(reason: string): void {
    this.#stats.undecodable.add(reason);
  }
}

/** Dotted quad of the IPv4 address at buf[off, off + 4). */
export function formatIPv4(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** RFC 5952 text of the IPv6 address at buf[off, off + 16): lowercase, longest zero run as "::", IPv4-mapped as ::ffff:a.b.c.d. */
export function formatIPv6(buf: Buffer, off: number): string {
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    if (buf.readUInt16BE(off + i * 2) === 0) {
      if (runStart < 0) runStart = i;
      const len = i - runStart + 1;
      // Only a run of two or more groups is compressed; the first of equal runs wins.
      if (len > bestLen && len >= 2) {
        bestStart = runStart;
        bestLen = len;
      }
    } else runStart = -1;
  }
  if (bestStart === 0 && bestLen === 5 && buf.readUInt16BE(off + 10) === 0xffff) {
    return `::ffff:${formatIPv4(buf, off + 12)}`;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out.length > 0 && !out.endsWith(':')) out += ':';
    out += buf.readUInt16BE(off + i * 2).toString(16);
  }
  return out;
}
