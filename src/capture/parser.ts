/**
 * Incremental pcap / pcapng parser: bytes are pushed in chunks of any size,
 * packets come out through one reused RawPacket. A record that lies wholly
 * inside a chunk is handed on in place (zero copy); only a record that
 * straddles two chunks is assembled in a carry buffer.
 */
import { WiretraceError } from '../errors.js';
import type { PacketSink, RawPacket } from '../model/packet.js';
import type { Stats } from '../model/stats.js';

export type CaptureFormat = 'pcap' | 'pcapng';

export interface CaptureInfo {
  format: CaptureFormat;
  /** The input was gzip-compressed. */
  compressed: boolean;
  /** Link types of the capture, in the order first declared (pcap: one; pcapng: one per interface). */
  linkTypes: number[];
  /** Largest snaplen declared (0 when none declared). */
  snaplen: number;
  /** pcapng sections (1 for pcap). */
  sections: number;
  /** Packets handed to the sink. */
  packets: number;
  /** Sum of captured bytes of those packets. */
  capturedBytes: number;
  /** Sum of on-the-wire lengths of those packets. */
  bytes: number;
  /** The input ended inside a record (a cut-off download or a capture still being written). */
  truncatedTail: boolean;
}

const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
const PCAP_MAGIC_MICRO_SWAPPED = 0xd4c3b2a1;
const PCAP_MAGIC_NANO = 0xa1b23c4d;
const PCAP_MAGIC_NANO_SWAPPED = 0x4d3cb2a1;
// Alexey Kuznetsov's patched libpcap: 8 more bytes per record header.
const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;
const PCAP_MAGIC_MODIFIED_SWAPPED = 0x34cdb2a1;
const PCAP_FILE_HEADER_LEN = 24;

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const PCAPNG_IDB = 1;
const PCAPNG_PB = 2;
const PCAPNG_SPB = 3;
const PCAPNG_EPB = 6;

const OPT_ENDOFOPT = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

/** libpcap's largest snaplen; a record claiming more than this (and more than the snaplen) is corrupt. */
const MAX_PCAP_RECORD = 262_144;
/** Wireshark's bound on a pcapng block; beyond it the length field is garbage, not data. */
const MAX_PCAPNG_BLOCK = 16 * 1024 * 1024;
const MAX_INTERFACES = 65_536;
const TWO_POW_32 = 4_294_967_296;
/** Below this high word a 64-bit timestamp is an exact double. */
const EXACT_HIGH_WORD_LIMIT = 0x200000;

interface InterfaceDescription {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second (if_tsresol). */
  unitsPerSecond: number;
  /** Nanoseconds per unit when that is a whole number (decimal resolutions up to 1 ns), else 0. */
  nanosPerUnit: number;
  /** if_tsoffset, seconds. */
  offsetSeconds: number;
}

type Format = CaptureFormat | undefined;

export class CaptureParser {
  readonly #sink: PacketSink;
  readonly #stats: Stats;
  readonly #packet: RawPacket = {
    linkType: 0,
    data: Buffer.alloc(0),
    offset: 0,
    capLen: 0,
    origLen: 0,
    tsSec: 0,
    tsNsec: 0,
    interfaceId: 0,
  };

  #format: Format = undefined;
  /** Byte order of the current file (pcap) or section (pcapng). */
  #littleEndian = true;

  #pcapRecordHeaderLen = 16;
  #pcapNanos = false;
  #pcapLinkType = 0;
  #pcapMaxRecord = MAX_PCAP_RECORD;

  #interfaces: InterfaceDescription[] = [];
  #lastTsSec = 0;
  #lastTsNsec = 0;

  #carry = Buffer.allocUnsafe(65_536);
  #carryLen = 0;
  /** Stream offset of carry[0], for error messages. */
  #carryStart = 0;
  /** Stream offset of the first byte of the chunk being parsed. */
  #chunkStart = 0;

  #linkTypes: number[] = [];
  #snaplen = 0;
  #sections = 0;
  #packets = 0;
  #capturedBytes = 0;
  #bytes = 0;
  #seenBytes = 0;

  constructor(sink: PacketSink, stats: Stats) {
    this.#sink = sink;
    this.#stats = stats;
  }

  /** Parse one more chunk of the (decompressed) capture. The chunk must not be modified while parsing. */
  push(chunk: Buffer): void {
    const end = chunk.length;
    if (end === 0) return;
    this.#seenBytes += end;
    let off = 0;
    if (this.#carryLen > 0) {
      off = this.#fillCarry(chunk);
      if (this.#carryLen > 0) {
        this.#chunkStart += end;
        return;
      }
    }
    while (off < end) {
      const avail = end - off;
      const len = this.#recordLength(chunk, off, avail, this.#chunkStart + off);
      if (len < 0 || len > avail) break;
      this.#processRecord(chunk, off, len, this.#chunkStart + off);
      off += len;
    }
    if (off < end) {
      this.#carryStart = this.#chunkStart + off;
      this.#ensureCarry(end - off);
      chunk.copy(this.#carry, 0, off, end);
      this.#carryLen = end - off;
    }
    this.#chunkStart += end;
  }

  /** The input has ended: report what was read. */
  finish(compressed: boolean): CaptureInfo {
    if (this.#format === undefined) this.#classifyIncompleteHeader(compressed);
    const truncatedTail = this.#carryLen > 0;
    if (truncatedTail) this.#stats.undecodable.add('truncated-record');
    return {
      format: this.#format as CaptureFormat,
      compressed,
      linkTypes: this.#linkTypes.slice(),
      snaplen: this.#snaplen,
      sections: this.#format === 'pcap' ? 1 : this.#sections,
      packets: this.#packets,
      capturedBytes: this.#capturedBytes,
      bytes: this.#bytes,
      truncatedTail,
    };
  }

  // ---- record framing -------------------------------------------------------

  /**
   * Total length of the record at `off`, or minus the number of bytes needed
   * before that length can be known. Throws only WiretraceError.
   */
  #recordLength(buf: Buffer, off: number, avail: number, streamOffset: number): number {
    if (this.#format === 'pcap') {
      const headerLen = this.#pcapRecordHeaderLen;
      if (avail < headerLen) return -headerLen;
      const capLen = this.#u32(buf, off + 8);
      if (capLen > this.#pcapMaxRecord) {
        throw corrupt(
          `packet record at byte ${streamOffset} claims ${capLen} captured bytes, more than the snaplen ${this.#snaplen} allows`,
        );
      }
      return headerLen + capLen;
    }
    if (this.#format === 'pcapng') return this.#blockLength(buf, off, avail, streamOffset);
    if (avail < 4) return -4;
    const magic = buf.readUInt32BE(off);
    if (magic === PCAPNG_SHB) return this.#blockLength(buf, off, avail, streamOffset);
    if (pcapMagicKnown(magic)) return PCAP_FILE_HEADER_LEN;
    throw notACapture(describeStart(buf, off, avail));
  }

  #blockLength(buf: Buffer, off: number, avail: number, streamOffset: number): number {
    if (avail < 8) return -8;
    const type = buf.readUInt32BE(off);
    if (type === PCAPNG_SHB) {
      if (avail < 12) return -12;
      if (buf.readUInt32LE(off + 8) === PCAPNG_BYTE_ORDER_MAGIC) this.#littleEndian = true;
      else if (buf.readUInt32BE(off + 8) === PCAPNG_BYTE_ORDER_MAGIC) this.#littleEndian = false;
      else if (this.#format === undefined) {
        throw notACapture(`input starts like a pcapng capture but its byte-order magic is ${hex(buf, off + 8, 4)}`);
      } else {
        throw corrupt(`section header block at byte ${streamOffset} has a bad byte-order magic ${hex(buf, off + 8, 4)}`);
      }
    }
    const len = this.#u32(buf, off + 4);
    const minLen = type === PCAPNG_SHB ? 28 : 12;
    if (len < minLen || len % 4 !== 0 || len > MAX_PCAPNG_BLOCK) {
      throw corrupt(`pcapng block at byte ${streamOffset} has an impossible length ${len} (type ${type})`);
    }
    return len;
  }

  #fillCarry(chunk: Buffer): number {
    let used = 0;
    for (;;) {
      const r = this.#recordLength(this.#carry, 0, this.#carryLen, this.#carryStart);
      const target = r < 0 ? -r : r;
      if (r > 0 && this.#carryLen >= r) {
        this.#carryLen = 0;
        this.#processRecord(this.#carry, 0, r, this.#carryStart);
        return used;
      }
      this.#ensureCarry(target);
      const take = Math.min(target - this.#carryLen, chunk.length - used);
      chunk.copy(this.#carry, this.#carryLen, used, used + take);
      this.#carryLen += take;
      used += take;
      if (this.#carryLen < target) return used;
    }
  }

  #ensureCarry(size: number): void {
    if (this.#carry.length >= size) return;
    const bigger = Buffer.allocUnsafe(Math.max(size, this.#carry.length * 2));
    this.#carry.copy(bigger, 0, 0, this.#carryLen);
    this.#carry = bigger;
  }

  #processRecord(buf: Buffer, off: number, len: number, streamOffset: number): void {
    if (this.#format === 'pcap') this.#pcapRecord(buf, off);
    else if (this.#format === 'pcapng') this.#pcapngBlock(buf, off, len, streamOffset);
    else if (buf.readUInt32BE(off) === PCAPNG_SHB) {
      this.#format = 'pcapng';
      this.#pcapngBlock(buf, off, len, streamOffset);
    } else this.#pcapFileHeader(buf, off);
  }

  // ---- pcap -------------------------------------------------------------------

  #pcapFileHeader(buf: Buffer, off: number): void {
    const magic = buf.readUInt32BE(off);
    this.#format = 'pcap';
    this.#littleEndian =
      magic === PCAP_MAGIC_MICRO_SWAPPED || magic === PCAP_MAGIC_NANO_SWAPPED || magic === PCAP_MAGIC_MODIFIED_SWAPPED;
    this.#pcapNanos = magic === PCAP_MAGIC_NANO || magic === PCAP_MAGIC_NANO_SWAPPED;
    this.#pcapRecordHeaderLen = magic === PCAP_MAGIC_MODIFIED || magic === PCAP_MAGIC_MODIFIED_SWAPPED ? 24 : 16;
    this.#snaplen = this.#u32(buf, off + 16);
    this.#pcapMaxRecord = Math.max(this.#snaplen, MAX_PCAP_RECORD);
    // The upper bits carry FCS information; the link type is the low 16 bits.
    this.#pcapLinkType = this.#u32(buf, off + 20) & 0xffff;
    this.#linkTypes.push(this.#pcapLinkType);
    this.#sections = 1;
  }

  #pcapRecord(buf: Buffer, off: number): void {
    const pkt = this.#packet;
    let tsSec = this.#u32(buf, off);
    let tsNsec = this.#pcapNanos ? this.#u32(buf, off + 4) : this.#u32(buf, off + 4) * 1000;
    if (tsNsec >= 1e9) {
      tsSec += Math.floor(tsNsec / 1e9);
      tsNsec %= 1e9;
    }
    const capLen = this.#u32(buf, off + 8);
    const origLen = this.#u32(buf, off + 12);
    pkt.linkType = this.#pcapLinkType;
    pkt.interfaceId = 0;
    pkt.tsSec = tsSec;
    pkt.tsNsec = tsNsec;
    this.#emit(buf, off + this.#pcapRecordHeaderLen, capLen, origLen);
  }

  // ---- pcapng ---------------------------------------------------------------

  #pcapngBlock(buf: Buffer, off: number, len: number, streamOffset: number): void {
    const type = this.#u32(buf, off);
    if (this.#u32(buf, off + len - 4) !== len) {
      throw corrupt(`pcapng block at byte ${streamOffset} ends with a length that differs from its start (${len})`);
    }
    switch (type) {
      case PCAPNG_EPB:
        this.#enhancedPacket(buf, off, len, streamOffset);
        return;
      case PCAPNG_SPB:
        this.#simplePacket(buf, off, len);
        return;
      case PCAPNG_IDB:
        this.#interfaceDescription(buf, off, len, streamOffset);
        return;
      case PCAPNG_PB:
        this.#obsoletePacket(buf, off, len, streamOffset);
        return;
      case PCAPNG_SHB:
        this.#sectionHeader(buf, off, streamOffset);
        return;
      default:
      // Name resolution, statistics, journal, custom ...: nothing for the packet path.
    }
  }

  #sectionHeader(buf: Buffer, off: number, streamOffset: number): void {
    const major = this.#u16(buf, off + 12);
    if (major !== 1) {
      throw corrupt(`pcapng section at byte ${streamOffset} has version ${major}.${this.#u16(buf, off + 14)}; only 1.x is defined`);
    }
    this.#sections++;
    this.#interfaces = [];
  }

  #interfaceDescription(buf: Buffer, off: number, len: number, streamOffset: number): void {
    if (len < 20) throw corrupt(`interface description block at byte ${streamOffset} is too short (${len} bytes)`);
    if (this.#interfaces.length >= MAX_INTERFACES) {
      throw corrupt(`more than ${MAX_INTERFACES} interfaces in one pcapng section (byte ${streamOffset})`);
    }
    const desc: InterfaceDescription = {
      linkType: this.#u16(buf, off + 8),
      snaplen: this.#u32(buf, off + 12),
      unitsPerSecond: 1e6,
      nanosPerUnit: 1000,
      offsetSeconds: 0,
    };
    const optionsEnd = off + len - 4;
    let p = off + 16;
    while (p + 4 <= optionsEnd) {
      const code = this.#u16(buf, p);
      const optLen = this.#u16(buf, p + 2);
      const value = p + 4;
      if (code === OPT_ENDOFOPT || value + optLen > optionsEnd) break;
      if (code === OPT_IF_TSRESOL && optLen >= 1) setResolution(desc, buf[value]);
      else if (code === OPT_IF_TSOFFSET && optLen >= 8) {
        desc.offsetSeconds = Number(this.#littleEndian ? buf.readBigInt64LE(value) : buf.readBigInt64BE(value));
      }
      p = value + ((optLen + 3) & ~3);
    }
    this.#interfaces.push(desc);
    if (!this.#linkTypes.includes(desc.linkType)) this.#linkTypes.push(desc.linkType);
    if (desc.snaplen > this.#snaplen) this.#snaplen = desc.snaplen;
  }

  #enhancedPacket(buf: Buffer, off: number, len: number, streamOffset: number): void {
    if (len < 32) throw corrupt(`enhanced packet block at byte ${streamOffset} is too short (${len} bytes)`);
    const capLen = this.#u32(buf, off + 20);
    if (28 + capLen + 4 > len) {
      throw corrupt(`enhanced packet block at byte ${streamOffset} claims ${capLen} captured bytes in a ${len}-byte block`);
    }
    const iface = this.#interface(this.#u32(buf, off + 8));
    if (iface === undefined) return;
    this.#setTime(this.#u32(buf, off + 12), this.#u32(buf, off + 16), iface);
    this.#packet.interfaceId = this.#u32(buf, off + 8);
    this.#packet.linkType = iface.linkType;
    this.#emit(buf, off + 28, capLen, this.#u32(buf, off + 24));
  }

  #obsoletePacket(buf: Buffer, off: number, len: number, streamOffset: number): void {
    if (len < 32) throw corrupt(`packet block at byte ${streamOffset} is too short (${len} bytes)`);
    const capLen = this.#u32(buf, off + 20);
    if (28 + capLen + 4 > len) {
      throw corrupt(`packet block at byte ${streamOffset} claims ${capLen} captured bytes in a ${len}-byte block`);
    }
    const interfaceId = this.#u16(buf, off + 8);
    const iface = this.#interface(interfaceId);
    if (iface === undefined) return;
    this.#setTime(this.#u32(buf, off + 12), this.#u32(buf, off + 16), iface);
    this.#packet.interfaceId = interfaceId;
    this.#packet.linkType = iface.linkType;
    this.#emit(buf, off + 28, capLen, this.#u32(buf, off + 24));
  }

  #simplePacket(buf: Buffer, off: number, len: number): void {
    const iface = this.#interface(0);
    if (iface === undefined) return;
    const origLen = this.#u32(buf, off + 8);
    let capLen = Math.min(origLen, len - 16);
    if (iface.snaplen > 0 && capLen > iface.snaplen) capLen = iface.snaplen;
    const pkt = this.#packet;
    pkt.interfaceId = 0;
    pkt.linkType = iface.linkType;
    // A simple packet has no timestamp: it happened no earlier than the last one seen.
    pkt.tsSec = this.#lastTsSec;
    pkt.tsNsec = this.#lastTsNsec;
    this.#emit(buf, off + 12, capLen, origLen);
  }

  #interface(id: number): InterfaceDescription | undefined {
    const iface = this.#interfaces[id];
    if (iface === undefined) this.#stats.undecodable.add('pcapng-unknown-interface');
    return iface;
  }

  /** Split a 64-bit count of interface time units into seconds and nanoseconds without allocating. */
  #setTime(high: number, low: number, iface: InterfaceDescription): void {
    const units = iface.unitsPerSecond;
    let sec: number;
    let rem: number;
    if (high < EXACT_HIGH_WORD_LIMIT) {
      const ts = high * TWO_POW_32 + low;
      sec = Math.floor(ts / units);
      rem = ts - sec * units;
    } else if (units <= TWO_POW_32) {
      // Long division in 16-bit digits: every intermediate stays below 2^48.
      sec = 0;
      rem = 0;
      for (let i = 0; i < 4; i++) {
        const digit = i === 0 ? high >>> 16 : i === 1 ? high & 0xffff : i === 2 ? low >>> 16 : low & 0xffff;
        const cur = rem * 65_536 + digit;
        const q = Math.floor(cur / units);
        rem = cur - q * units;
        sec = sec * 65_536 + q;
      }
    } else {
      const ts = (BigInt(high) << 32n) | BigInt(low);
      const bigUnits = BigInt(units);
      sec = Number(ts / bigUnits);
      rem = Number(ts % bigUnits);
    }
    const pkt = this.#packet;
    pkt.tsSec = sec + iface.offsetSeconds;
    pkt.tsNsec = iface.nanosPerUnit > 0 ? rem * iface.nanosPerUnit : Math.floor((rem * 1e9) / units);
    this.#lastTsSec = pkt.tsSec;
    this.#lastTsNsec = pkt.tsNsec;
  }

  #emit(buf: Buffer, dataOffset: number, capLen: number, origLen: number): void {
    const pkt = this.#packet;
    pkt.data = buf;
    pkt.offset = dataOffset;
    pkt.capLen = capLen;
    // Some writers record an original length below the captured one; the bytes are there.
    pkt.origLen = origLen < capLen ? capLen : origLen;
    this.#packets++;
    this.#capturedBytes += capLen;
    this.#bytes += pkt.origLen;
    this.#sink.onPacket(pkt);
  }

  #classifyIncompleteHeader(compressed: boolean): void {
    if (this.#seenBytes === 0) {
      throw notACapture(
        compressed
          ? 'gzip-compressed input decompresses to nothing (cut off early?): no pcap or pcapng capture in it'
          : 'input is empty: not a pcap or pcapng capture',
      );
    }
    if (this.#carryLen < 4) {
      throw notACapture(`input is only ${this.#seenBytes} bytes long: too short for a pcap or pcapng capture`);
    }
    // A known magic followed by a cut-off file header: a capture with nothing in it yet.
    this.#format = this.#carry.readUInt32BE(0) === PCAPNG_SHB ? 'pcapng' : 'pcap';
  }

  #u32(buf: Buffer, off: number): number {
    return this.#littleEndian ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
  }

  #u16(buf: Buffer, off: number): number {
    return this.#littleEndian ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
  }
}

function setResolution(desc: InterfaceDescription, tsresol: number): void {
  const exponent = tsresol & 0x7f;
  if (tsresol & 0x80) {
    desc.unitsPerSecond = 2 ** exponent;
    desc.nanosPerUnit = 0;
  } else {
    desc.unitsPerSecond = 10 ** exponent;
    desc.nanosPerUnit = exponent <= 9 ? 10 ** (9 - exponent) : 0;
  }
  // A resolution of 0 (one unit per second is 10^0) is legal; 2^0 likewise. Nothing coarser exists.
}

function pcapMagicKnown(magic: number): boolean {
  return (
    magic === PCAP_MAGIC_MICRO ||
    magic === PCAP_MAGIC_MICRO_SWAPPED ||
    magic === PCAP_MAGIC_NANO ||
    magic === PCAP_MAGIC_NANO_SWAPPED ||
    magic === PCAP_MAGIC_MODIFIED ||
    magic === PCAP_MAGIC_MODIFIED_SWAPPED
  );
}

/** What the first bytes look like, for a message a person can act on. */
export function describeStart(buf: Buffer, off: number, avail: number): string {
  const n = Math.min(avail, 8);
  let printable = true;
  for (let i = 0; i < n; i++) {
    const c = buf[off + i];
    if (!((c >= 0x20 && c < 0x7f) || c === 0x09 || c === 0x0a || c === 0x0d)) printable = false;
  }
  if (printable) {
    const text = JSON.stringify(buf.toString('latin1', off, off + Math.min(avail, 4))).slice(1, -1);
    return `input starts with '${text}' — looks like text, not a pcap or pcapng capture`;
  }
  const known = knownFileType(buf, off, avail);
  const what = known ? ` — looks like ${known}` : '';
  return `input starts with bytes ${hex(buf, off, Math.min(avail, 4))}${what}, not the magic number of a pcap (a1b2c3d4, a1b23c4d) or pcapng (0a0d0d0a) capture`;
}

function knownFileType(buf: Buffer, off: number, avail: number): string | undefined {
  if (avail >= 4 && buf.readUInt32BE(off) === 0x504b0304) return 'a zip archive';
  if (avail >= 4 && buf.readUInt32BE(off) === 0x7f454c46) return 'an ELF executable';
  if (avail >= 3 && buf[off] === 0x42 && buf[off + 1] === 0x5a && buf[off + 2] === 0x68) return 'bzip2-compressed data';
  if (avail >= 4 && buf.readUInt32BE(off) === 0xfd377a58) return 'xz-compressed data';
  if (avail >= 4 && buf.readUInt32BE(off) === 0x28b52ffd) return 'zstd-compressed data';
  return undefined;
}

function hex(buf: Buffer, off: number, len: number): string {
  return buf.toString('hex', off, off + len);
}

function notACapture(message: string): WiretraceError {
  return new WiretraceError('WT_ERR_NOT_A_CAPTURE', message);
}

function corrupt(message: string): WiretraceError {
  return new WiretraceError('WT_ERR_CAPTURE_CORRUPT', message);
}
