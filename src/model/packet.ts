/**
 * The packet path: capture → net → tcp. These objects are scratch objects
 * owned and reused by the stage that fills them; a consumer must copy what
 * it keeps past the call (see DESIGN: no allocation per packet that a byte
 * offset could replace).
 */

/** Link-layer header types (tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte address family in host byte order
  ETHERNET: 1,
  RAW: 101, // raw IPv4/IPv6
  LOOP: 108, // OpenBSD loopback: 4-byte address family in network byte order
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** One captured frame, as a capture reader hands it on. */
export interface RawPacket {
  linkType: number;
  /** The captured bytes are data[offset, offset + capLen). Valid only during the call. */
  data: Buffer;
  offset: number;
  capLen: number;
  /** Length of the frame on the wire; greater than capLen when the snaplen cut it. */
  origLen: number;
  tsSec: number;
  tsNsec: number;
  /** pcapng interface index (0 for pcap). */
  interfaceId: number;
}

export interface PacketSink {
  onPacket(packet: RawPacket): void;
}

export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
} as const;

/**
 * One TCP segment located inside a frame. Addresses are not decoded to
 * strings here: they are byte ranges of `data`, so a connection lookup can
 * hash and compare bytes without allocating.
 */
export interface TcpSegment {
  data: Buffer;
  /** 4 or 6 */
  ipVersion: 4 | 6;
  /** Byte length of each address: 4 or 16. */
  addrLen: 4 | 16;
  srcAddrOffset: number;
  dstAddrOffset: number;
  srcPort: number;
  dstPort: number;
  /** Unsigned 32-bit sequence and acknowledgement numbers. */
  seq: number;
  ack: number;
  /** TcpFlag bits. */
  flags: number;
  window: number;
  /** Captured payload is data[payloadOffset, payloadOffset + payloadLen). */
  payloadOffset: number;
  payloadLen: number;
  /** Payload length according to the IP header; > payloadLen when the snaplen truncated it. */
  payloadOrigLen: number;
  tsSec: number;
  tsNsec: number;
}

export interface SegmentSink {
  onSegment(segment: TcpSegment): void;
}
