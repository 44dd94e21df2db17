/**
 * Reading Linux /proc: the TCP socket tables and what a process says about
 * itself. Every reader is tolerant: /proc changes under our feet (sockets
 * close, processes exit, permissions differ), so a failure is an absent
 * answer, never an exception.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import type { Endpoint } from '../model/endpoint.js';
import { formatAddress } from './address.js';

/** TCP states as the kernel numbers them in /proc/net/tcp (include/net/tcp_states.h). */
export const TcpState = {
  ESTABLISHED: 0x01,
  LISTEN: 0x0a,
} as const;

export interface SocketEntry {
  local: Endpoint;
  remote: Endpoint;
  state: number;
  /** 0 for sockets no process holds any more (TIME_WAIT, orphaned). */
  inode: number;
}

/**
 * Parses /proc/net/tcp or /proc/net/tcp6 text. Addresses are written as
 * 32-bit words in host byte order (little-endian here): each word's bytes
 * are reversed to get network order. IPv4-mapped IPv6 addresses come out as
 * IPv4, the spelling the TCP layer uses.
 */
export function parseProcNetTcp(text: string, onEntry: (entry: SocketEntry) => void): void {
  let lineStart = text.indexOf('\n') + 1; // header line
  while (lineStart > 0 && lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    const entry = parseLine(text.slice(lineStart, lineEnd));
    if (entry !== undefined) onEntry(entry);
    lineStart = lineEnd + 1;
  }
}

function parseLine(line: string): SocketEntry | undefined {
  const fields = line.trim().split(/\s+/);
  // sl local rem st tx:rx tr:tm retrnsmt uid timeout inode ...
  if (fields.length < 10) return undefined;
  const local = parseHexEndpoint(fields[1]);
  const remote = parseHexEndpoint(fields[2]);
  if (local === undefined || remote === undefined) return undefined;
  if (!/^[0-9A-Fa-f]{2}$/.test(fields[3]) || !/^\d+$/.test(fields[9])) return undefined;
  return { local, remote, state: parseInt(fields[3], 16), inode: Number(fields[9]) };
}

function parseHexEndpoint(text: string): Endpoint | undefined {
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  const hex = text.slice(0, colon);
  const portHex = text.slice(colon + 1);
  if ((hex.length !== 8 && hex.length !== 32) || !/^[0-9A-Fa-f]+$/.test(hex) || !/^[0-9A-Fa-f]{4}$/.test(portHex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let word = 0; word < hex.length / 8; word++) {
    for (let b = 0; b < 4; b++) {
      const at = word * 8 + (3 - b) * 2;
      bytes[word * 4 + b] = parseInt(hex.slice(at, at + 2), 16);
    }
  }
  const port = parseInt(portHex, 16);
  if (bytes.length === 4) return { address: formatAddress({ version: 4, bytes }), port };
  let mapped = bytes[10] === 0xff && bytes[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (bytes[i] !== 0) mapped = false;
  return { address: formatAddress(mapped ? { version: 4, bytes: bytes.slice(12) } : { version: 6, bytes }), port };
}

/** What a process says about itself, as resource attributes want it. */
export interface ProcessInfo {
  pid: number;
  /** Basename of /proc/PID/exe (else of the comm name). */
  executableName: string;
  /** The command line with secrets replaced. */
  commandLine: string;
  /** OTEL_SERVICE_NAME, else service.name in OTEL_RESOURCE_ATTRIBUTES, of the process's environment. */
  otelServiceName: string | undefined;
  /** otelServiceName, else a name derived from the executable (and the script of an interpreter). */
  serviceName: string;
}

/** Bytes read from /proc/PID/environ at most: an environment is rarely larger. */
const ENVIRON_LIMIT = 256 * 1024;
const CMDLINE_LIMIT = 64 * 1024;

/**
 * The /proc tree (a root other than /proc only for tests). Reads are
 * synchronous: each is a small in-memory file, and the resolver decides how
 * many it may afford at once.
 */
export class ProcFs {
  readonly #root: string;

  constructor(root = '/proc') {
    this.#root = root;
  }

  /** Every TCP socket of this network namespace, IPv4 and IPv6. */
  tcpSockets(): SocketEntry[] {
    const out: SocketEntry[] = [];
    for (const name of ['tcp', 'tcp6']) {
      const text = readText(`${this.#root}/net/${name}`, Infinity);
      if (text !== undefined) parseProcNetTcp(text, (e) => out.push(e));
    }
    return out;
  }

  pids(): number[] {
    try {
      const names = readdirSync(this.#root);
      const pids: number[] = [];
      for (const n of names) if (/^\d+$/.test(n)) pids.push(Number(n));
      return pids;
    } catch {
      return [];
    }
  }

  /** Socket inodes among a process's open files (its fd links read "socket:[INODE]"). */
  socketInodes(pid: number): number[] {
    const dir = `${this.#root}/${pid}/fd`;
    let fds: string[];
    try {
      fds = readdirSync(dir);
    } catch {
      return [];
    }
    const inodes: number[] = [];
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`${dir}/${fd}`);
      } catch {
        continue; // closed while we looked
      }
      if (link.startsWith('socket:[') && link.endsWith(']')) inodes.push(Number(link.slice(8, -1)));
    }
    return inodes;
  }

  /** Undefined when the process is gone or cannot be read at all. */
  processInfo(pid: number, redact: (args: string[]) => string[]): ProcessInfo | undefined {
    const base = `${this.#root}/${pid}`;
    let exe: string | undefined;
    try {
      exe = readlinkSync(`${base}/exe`);
    } catch {
      exe = undefined; // kernel threads, or another user's process without privileges
    }
    const comm = readText(`${base}/comm`, 4096);
    const cmdline = readText(`${base}/cmdline`, CMDLINE_LIMIT);
    const environ = readText(`${base}/environ`, ENVIRON_LIMIT);
    if (exe === undefined && comm === undefined) return undefined;
    const executableName = exe !== undefined ? basename(exe.replace(/ \(deleted\)$/, '')) : (comm ?? '').trim();
    const args = cmdline !== undefined ? splitNul(cmdline) : [];
    const otelServiceName = environ !== undefined ? serviceNameFromEnviron(environ) : undefined;
    return {
      pid,
      executableName,
      commandLine: redact(args).join(' '),
      otelServiceName,
      serviceName: otelServiceName ?? derivedServiceName(executableName, args),
    };
  }
}

function readText(path: string, limit: number): string | undefined {
  try {
    const buf = readFileSync(path);
    return (buf.length > limit ? buf.subarray(0, limit) : buf).toString('utf8');
  } catch {
    return undefined;
  }
}

function splitNul(text: string): string[] {
  const parts = text.split('\0');
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** The service name a process's OpenTelemetry SDK would report, if its environment sets one. */
export function serviceNameFromEnviron(environ: string): string | undefined {
  let fromAttributes: string | undefined;
  for (const entry of environ.split('\0')) {
    if (entry.startsWith('OTEL_SERVICE_NAME=')) {
      const v = entry.slice('OTEL_SERVICE_NAME='.length).trim();
      if (v.length > 0) return v;
    } else if (entry.startsWith('OTEL_RESOURCE_ATTRIBUTES=')) {
      for (const pair of entry.slice('OTEL_RESOURCE_ATTRIBUTES='.length).split(',')) {
        const eq = pair.indexOf('=');
        if (eq > 0 && pair.slice(0, eq).trim() === 'service.name') {
          const v = safeDecode(pair.slice(eq + 1).trim());
          if (v.length > 0) fromAttributes = v;
        }
      }
    }
  }
  return fromAttributes;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Interpreters whose processes are told apart by the script they run. */
const INTERPRETER = /^(?:node|nodejs|bun|deno|python[\d.]*|pypy[\d.]*|ruby|perl|php[\d.]*|java)$/;
/** Options of those interpreters that take the next argument as their value. */
const OPTION_WITH_VALUE = new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions', '--input-type', '--title', '-W', '-X', '-cp', '-classpath', '--class-path', '-I']);
/** Script names too generic to name a service: the folder holding them does it better. */
const GENERIC_SCRIPT = new Set(['index', 'main', 'app', 'server', 'start', 'run', '__main__', 'manage']);

/**
 * The name of a process without OTEL_SERVICE_NAME: its executable, except
 * for interpreters, where every process would be "node" or "python": there
 * the script names it (`node /srv/api/orders.mjs` → "orders", `python -m
 * billing` → "billing", `java -jar shop.jar` → "shop"); a generic script
 * name (index, main, app, server) is replaced by its folder's name.
 */
export function derivedServiceName(executableName: string, args: readonly string[]): string {
  if (!INTERPRETER.test(executableName)) return executableName;
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a === '-e' || a === '--eval' || a === '-c' || a === '-p' || a === '--print') return executableName;
    if ((a === '-m' || a === '-jar') && i + 1 < args.length) return scriptName(args[i + 1], a === '-m');
    if (OPTION_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    if (a === 'run' && executableName === 'deno') continue;
    return scriptName(a, false) || executableName;
  }
  return executableName;
}

function scriptName(path: string, isModule: boolean): string {
  if (isModule) return path;
  const parts = path.split('/').filter((p) => p.length > 0);
  const file = parts[parts.length - 1] ?? '';
  const dot = file.lastIndexOf('.');
  const stem = dot > 0 ? file.slice(0, dot) : file;
  if (GENERIC_SCRIPT.has(stem.toLowerCase()) && parts.length >= 2) {
    const folder = parts[parts.length - 2];
    if (folder !== '.' && folder !== '..' && folder !== 'src' && folder !== 'dist' && folder !== 'bin') return folder;
    if (parts.length >= 3) return parts[parts.length - 3];
  }
  return stem;
}
