/**
 * Which local process owns each end of a connection (live capture on this
 * host): port → socket inode (/proc/net/tcp, tcp6) → pid (/proc/PID/fd) →
 * what the process says about itself. DESIGN: service identity comes from
 * explicit mappings, then the process that owns the socket, then the HTTP
 * Host, then address:port.
 *
 * Lookups happen when the TCP layer starts tracking a connection, while
 * both sockets still exist (a short connection is gone a moment later), and
 * within a budget: the socket tables are read at most once per turn of the
 * event loop, the processes that owned sockets before are searched first,
 * and a search of every process runs inline only while it is cheap (it took
 * under FULL_SCAN_INLINE_MS last time); otherwise it runs in the background
 * in slices, and the connection ends it answers are named from then on.
 */
import { hostname, networkInterfaces } from 'node:os';
import { endpointKey, type Endpoint } from '../model/endpoint.js';
import type { Stats } from '../model/stats.js';
import { canonicalAddress, isLoopback } from './address.js';
import { CommandLineRedactor } from './cmdline.js';
import { ProcFs, TcpState, type ProcessInfo } from './procfs.js';

export type { ProcessInfo } from './procfs.js';

/** The two ends of a connection, as the TCP layer knows them. */
export interface ConnectionEnds {
  readonly client: Endpoint;
  readonly server: Endpoint;
}

/** What the span assembly asks about processes on this host. */
export interface LocalProcessResolver {
  /** This host's name for host.name on the resources of local services; undefined adds none. */
  readonly hostName: string | undefined;
  /** The address belongs to this host (an interface address or loopback). */
  isLocal(address: string): boolean;
  /** Starts finding the owners of a new connection's local ends. */
  observe(conn: ConnectionEnds): void;
  /** The process owning the socket `local` ↔ `remote`, as far as known now. */
  ownerOf(local: Endpoint, remote: Endpoint): ProcessInfo | undefined;
  /** Lookups are running in the background: owners asked for now may not be known yet. */
  readonly busy: boolean;
  /** Resolves once every lookup started so far is done, or after `timeoutMs`. */
  settle(timeoutMs: number): Promise<void>;
}

export interface ProcfsResolverOptions {
  stats: Stats;
  redaction: { queryParams: readonly string[]; replacement: string };
  /** Add host.name to local services' resources. */
  hostName: boolean;
  /** Owners remembered at most (per connection end and per listening endpoint); beyond, the oldest go (counted). */
  maxEntries?: number;
  /** How long an answer is trusted: pids and ports are reused. */
  ttlMs?: number;
  procfs?: ProcFs;
}

export interface ProcessResolverCounters {
  /** Connection ends looked up. */
  lookups: number;
  /** Of those, ends whose process was found. */
  found: number;
  /** Ends whose socket no process held any more, or that were never found. */
  notFound: number;
  /** Full scans of every process's open files. */
  fullScans: number;
  /** Answers forgotten at the size limit. */
  evicted: number;
}

interface CachedOwner {
  info: ProcessInfo | null;
  expires: number;
  /** For a listener: its socket, so that a listener closed and opened again by another process is not mistaken. */
  inode?: number;
}

interface Wanted {
  key: string;
  inode: number;
  /** The end's listening socket, when it is a server end. */
  listenerKey: string | undefined;
}

const DEFAULT_MAX_ENTRIES = 65_536;
const DEFAULT_TTL_MS = 60_000;
/** A socket nobody held when asked: not asked again for a while. */
const NOT_FOUND_TTL_MS = 5_000;
/** Interface addresses change rarely (DHCP, containers): re-read them now and then. */
const INTERFACES_REFRESH_MS = 30_000;
/** Searches of every process run inline only while they took less than this in the current second... */
const INLINE_BUDGET_MS_PER_SECOND = 100;
/** ... and only while the last one took less than this. */
const FULL_SCAN_INLINE_MS = 25;
/** Processes searched per slice of a background search. */
const BACKGROUND_SLICE = 64;
const RECENT_PIDS = 64;

/** Owners of local sockets read from /proc, cached with a TTL and a size bound. */
export class ProcfsProcessResolver implements LocalProcessResolver {
  readonly hostName: string | undefined;
  readonly #stats: Stats;
  readonly #procfs: ProcFs;
  readonly #redactor: CommandLineRedactor;
  readonly #maxEntries: number;
  readonly #ttlMs: number;

  /** Answers by "local>remote" connection end. */
  readonly #byEnd = new Map<string, CachedOwner>();
  /** Answers by listening socket ("addr:port", wildcard addresses included): a server keeps its listener. */
  readonly #byListener = new Map<string, CachedOwner>();
  /** Process facts by pid. */
  readonly #processes = new Map<number, { info: ProcessInfo | undefined; expires: number }>();
  /** Pids that owned sockets we asked about, most recent last: searched first. */
  readonly #recentPids = new Set<number>();

  /** The socket tables as read this turn of the event loop. */
  #tables: { byTuple: Map<string, number>; listeners: Map<string, number> } | undefined;
  #lastFullScanMs = 0;
  #budgetSecond = 0;
  #budgetSpentMs = 0;
  /** Ends waiting for the background search, by socket inode. */
  #waiting = new Map<number, Wanted[]>();
  #background: Promise<void> | undefined;
  #localAddresses = new Set<string>();
  #interfacesReadAt = -Infinity;
  readonly #counters: ProcessResolverCounters = { lookups: 0, found: 0, notFound: 0, fullScans: 0, evicted: 0 };

  constructor(options: ProcfsResolverOptions) {
    this.#stats = options.stats;
    this.#procfs = options.procfs ?? new ProcFs();
    this.#redactor = new CommandLineRedactor({ needles: options.redaction.queryParams, replacement: options.redaction.replacement });
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.hostName = options.hostName ? hostname() : undefined;
  }

  counters(): ProcessResolverCounters {
    return { ...this.#counters };
  }

  isLocal(address: string): boolean {
    if (isLoopback(address)) return true;
    const now = Date.now();
    if (now - this.#interfacesReadAt > INTERFACES_REFRESH_MS) {
      this.#interfacesReadAt = now;
      const set = new Set<string>();
      for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) set.add(canonicalAddress(i.address));
      this.#localAddresses = set;
    }
    return this.#localAddresses.has(canonicalAddress(address));
  }

  observe(conn: ConnectionEnds): void {
    this.#resolve(conn.client, conn.server);
    this.#resolve(conn.server, conn.client);
  }

  ownerOf(local: Endpoint, remote: Endpoint): ProcessInfo | undefined {
    const now = Date.now();
    const end = this.#byEnd.get(endKey(local, remote));
    if (end !== undefined && end.expires > now) return end.info ?? undefined;
    for (const key of listenerKeys(local)) {
      const listener = this.#byListener.get(key);
      if (listener !== undefined && listener.expires > now && listener.info !== null) return listener.info;
    }
    return undefined;
  }

  get busy(): boolean {
    return this.#background !== undefined || this.#waiting.size > 0;
  }

  async settle(timeoutMs: number): Promise<void> {
    if (this.#background === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#background, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  #resolve(local: Endpoint, remote: Endpoint): void {
    if (!this.isLocal(local.address)) return;
    const key = endKey(local, remote);
    const now = Date.now();
    const cached = this.#byEnd.get(key);
    if (cached !== undefined && cached.expires > now) return;
    this.#counters.lookups++;
    const tables = this.#readTables();
    let listenerKey: string | undefined;
    let listenerInode: number | undefined;
    for (const k of listenerKeys(local)) {
      listenerInode = tables.listeners.get(k);
      if (listenerInode !== undefined) {
        listenerKey = k;
        break;
      }
    }
    const tupleInode = tables.byTuple.get(key);
    // A server end: the process that listens accepts (a forked worker may hold the socket, but the listener names the service).
    if (listenerKey !== undefined && listenerInode !== undefined) {
      const listener = this.#byListener.get(listenerKey);
      if (listener !== undefined && listener.expires > now && listener.inode === listenerInode && listener.info !== null) {
        this.#answer({ key, inode: listenerInode, listenerKey }, listener.info, now);
        return;
      }
    }
    const inode = listenerInode ?? tupleInode;
    if (inode === undefined) {
      this.#answer({ key, inode: 0, listenerKey: undefined }, undefined, now);
      return;
    }
    const wanted: Wanted = { key, inode, listenerKey };
    const pid = this.#searchInline(inode);
    if (pid !== undefined) {
      this.#answer(wanted, this.#processInfo(pid, now), now);
      return;
    }
    const list = this.#waiting.get(inode);
    if (list !== undefined) list.push(wanted);
    else this.#waiting.set(inode, [wanted]);
    this.#startBackground();
  }

  #readTables(): { byTuple: Map<string, number>; listeners: Map<string, number> } {
    if (this.#tables !== undefined) return this.#tables;
    const byTuple = new Map<string, number>();
    const listeners = new Map<string, number>();
    for (const s of this.#procfs.tcpSockets()) {
      if (s.inode === 0) continue;
      if (s.state === TcpState.LISTEN) listeners.set(endpointKey(s.local), s.inode);
      else byTuple.set(endKey(s.local, s.remote), s.inode);
    }
    const tables = { byTuple, listeners };
    this.#tables = tables;
    // Connections created later need a fresh read; those of this turn share it.
    setImmediate(() => {
      if (this.#tables === tables) this.#tables = undefined;
    });
    return tables;
  }

  /** The pid holding `inode`: recent owners first, then every process if that is cheap enough now. */
  #searchInline(inode: number): number | undefined {
    const wanted = new Set([inode]);
    const recent = this.#scan([...this.#recentPids].reverse(), wanted).get(inode);
    if (recent !== undefined) return recent;
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.#budgetSecond) {
      this.#budgetSecond = second;
      this.#budgetSpentMs = 0;
    }
    if (this.#lastFullScanMs > FULL_SCAN_INLINE_MS || this.#budgetSpentMs >= INLINE_BUDGET_MS_PER_SECOND) return undefined;
    this.#counters.fullScans++;
    const started = performance.now();
    const found = this.#scan(this.#procfs.pids(), wanted).get(inode);
    this.#lastFullScanMs = performance.now() - started;
    this.#budgetSpentMs += this.#lastFullScanMs;
    return found;
  }

  /** Searches the fd tables of `pids` for `inodes`; a socket shared by forked processes goes to the lowest pid (the parent). */
  #scan(pids: Iterable<number>, inodes: ReadonlySet<number>, into = new Map<number, number>()): Map<number, number> {
    for (const pid of pids) {
      for (const inode of this.#procfs.socketInodes(pid)) {
        if (!inodes.has(inode)) continue;
        const prev = into.get(inode);
        if (prev === undefined || pid < prev) into.set(inode, pid);
      }
    }
    return into;
  }

  /** A search of every process in slices, between which packets keep flowing. */
  #startBackground(): void {
    if (this.#background !== undefined) return;
    this.#background = (async () => {
      while (this.#waiting.size > 0) {
        const waiting = this.#waiting;
        this.#waiting = new Map();
        this.#counters.fullScans++;
        const started = performance.now();
        const pids = this.#procfs.pids();
        const found = new Map<number, number>();
        const inodes = new Set(waiting.keys());
        for (let i = 0; i < pids.length; i += BACKGROUND_SLICE) {
          this.#scan(pids.slice(i, i + BACKGROUND_SLICE), inodes, found);
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        this.#lastFullScanMs = performance.now() - started;
        const now = Date.now();
        for (const [inode, ends] of waiting) {
          const pid = found.get(inode);
          const info = pid !== undefined ? this.#processInfo(pid, now) : undefined;
          for (const end of ends) this.#answer(end, info, now);
        }
      }
    })().finally(() => {
      this.#background = undefined;
    });
  }

  #answer(wanted: Wanted, info: ProcessInfo | undefined, now: number): void {
    if (info === undefined) this.#counters.notFound++;
    else this.#counters.found++;
    this.#remember(this.#byEnd, wanted.key, { info: info ?? null, expires: now + (info === undefined ? NOT_FOUND_TTL_MS : this.#ttlMs) });
    if (info !== undefined && wanted.listenerKey !== undefined) {
      this.#remember(this.#byListener, wanted.listenerKey, { info, expires: now + this.#ttlMs, inode: wanted.inode });
    }
  }

  #processInfo(pid: number, now: number): ProcessInfo | undefined {
    this.#recentPids.delete(pid);
    this.#recentPids.add(pid);
    if (this.#recentPids.size > RECENT_PIDS) this.#recentPids.delete(this.#recentPids.values().next().value as number);
    const cached = this.#processes.get(pid);
    if (cached !== undefined && cached.expires > now) return cached.info;
    const info = this.#procfs.processInfo(pid, (args) => this.#redactor.redact(args));
    this.#processes.delete(pid);
    if (this.#processes.size >= this.#maxEntries) {
      this.#processes.delete(this.#processes.keys().next().value as number);
      this.#evicted();
    }
    // Pids are reused: what a process says about itself is re-read now and then.
    this.#processes.set(pid, { info, expires: now + Math.min(this.#ttlMs, 10_000) });
    return info;
  }

  #remember(map: Map<string, CachedOwner>, key: string, value: CachedOwner): void {
    map.delete(key);
    if (map.size >= this.#maxEntries) {
      map.delete(map.keys().next().value as string);
      this.#evicted();
    }
    map.set(key, value);
  }

  #evicted(): void {
    this.#counters.evicted++;
    this.#stats.drops.add('process-owner-cache');
  }
}

function endKey(local: Endpoint, remote: Endpoint): string {
  return `${endpointKey(local)}>${endpointKey(remote)}`;
}

/** Where a listener serving `local` may be bound: its own address, or any address. */
function listenerKeys(local: Endpoint): string[] {
  return [endpointKey(local), `0.0.0.0:${local.port}`, `[::]:${local.port}`];
}
