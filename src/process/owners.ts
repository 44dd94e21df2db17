/**
 * Which local process owns each end of a connection (live capture on this
 * host): port → socket inode (/proc/net/tcp, tcp6) → pid (/proc/PID/fd) →
 * what the process says about itself. DESIGN: service identity comes from
 * explicit mappings, then the process that owns the socket, then the HTTP
 * Host, then address:port.
 *
 * Lookups never block the pipeline: `observe` starts them in the background
 * when the TCP layer starts tracking a connection (the client socket may be
 * gone a few seconds later), and `ownerOf` only reads what is known by the
 * time spans are made — a link window later.
 */
import { hostname, networkInterfaces } from 'node:os';
import { endpointKey, type Endpoint } from '../model/endpoint.js';
import type { Stats } from '../model/stats.js';
import { canonicalAddress, isLoopback } from './address.js';
import { CommandLineRedactor } from './cmdline.js';
import { ProcFs, TcpState, type ProcessInfo, type SocketEntry } from './procfs.js';

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
}

const DEFAULT_MAX_ENTRIES = 65_536;
const DEFAULT_TTL_MS = 60_000;
/** Interface addresses change rarely (DHCP, containers): re-read them now and then. */
const INTERFACES_REFRESH_MS = 30_000;

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
  /** Answers by listening endpoint: later connections to a server are owned by its listener while looked up. */
  readonly #byListener = new Map<string, CachedOwner>();
  /** Process facts by pid, read once per TTL. */
  readonly #processes = new Map<number, { info: ProcessInfo | undefined; expires: number }>();
  /** Socket inode → pid, as of the last scan; pids that held sockets we wanted are scanned first next time. */
  #inodeOwners = new Map<number, number>();
  readonly #recentPids = new Set<number>();

  #pending = new Map<string, { local: Endpoint; remote: Endpoint }>();
  #running: Promise<void> | undefined;
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
    this.#want(conn.client, conn.server);
    this.#want(conn.server, conn.client);
  }

  ownerOf(local: Endpoint, remote: Endpoint): ProcessInfo | undefined {
    const now = Date.now();
    const end = this.#byEnd.get(endKey(local, remote));
    if (end !== undefined && end.expires > now && end.info !== null) return end.info;
    const listener = this.#byListener.get(endpointKey(local));
    if (listener !== undefined && listener.expires > now && listener.info !== null) return listener.info;
    return undefined;
  }

  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#running !== undefined) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#running, new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
      clearTimeout(timer);
    }
  }

  #want(local: Endpoint, remote: Endpoint): void {
    if (!this.isLocal(local.address)) return;
    const key = endKey(local, remote);
    const cached = this.#byEnd.get(key);
    if ((cached !== undefined && cached.expires > Date.now()) || this.#pending.has(key)) return;
    this.#pending.set(key, { local, remote });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#running !== undefined) return;
    this.#running = this.#resolvePending()
      .catch(() => {
        // /proc vanished under us (container teardown): the lookups are simply unanswered.
      })
      .finally(() => {
        this.#running = undefined;
        if (this.#pending.size > 0) this.#schedule();
      });
  }

  /** One pass over everything asked for since the last pass: one read of the socket tables, at most one full fd scan. */
  async #resolvePending(): Promise<void> {
    const batch = this.#pending;
    this.#pending = new Map();
    const sockets = await this.#procfs.tcpSockets();
    const byTuple = new Map<string, SocketEntry>();
    const listeners = new Map<string, SocketEntry>();
    for (const s of sockets) {
      if (s.inode === 0) continue;
      if (s.state === TcpState.LISTEN) listeners.set(endpointKey(s.local), s);
      else byTuple.set(endKey(s.local, s.remote), s);
    }

    const wanted = new Map<string, { socket: SocketEntry | undefined; listener: SocketEntry | undefined }>();
    for (const [key, { local }] of batch) {
      const socket = byTuple.get(key);
      // A server end: its listening socket (on its address, or on any address).
      const listener = listeners.get(endpointKey(local)) ?? listeners.get(`0.0.0.0:${local.port}`) ?? listeners.get(`[::]:${local.port}`);
      wanted.set(key, { socket, listener });
    }
    const inodes = new Set<number>();
    for (const { socket, listener } of wanted.values()) {
      if (socket !== undefined) inodes.add(socket.inode);
      if (listener !== undefined) inodes.add(listener.inode);
    }
    await this.#findOwners(inodes);

    const now = Date.now();
    for (const [key, { local }] of batch) {
      const { socket, listener } = wanted.get(key) ?? { socket: undefined, listener: undefined };
      this.#counters.lookups++;
      const socketPid = socket !== undefined ? this.#inodeOwners.get(socket.inode) : undefined;
      const listenerPid = listener !== undefined ? this.#inodeOwners.get(listener.inode) : undefined;
      const pid = socketPid ?? listenerPid;
      const info = pid !== undefined ? await this.#processInfo(pid, now) : undefined;
      if (info === undefined) this.#counters.notFound++;
      else this.#counters.found++;
      this.#remember(this.#byEnd, key, { info: info ?? null, expires: now + this.#ttlMs });
      if (listenerPid !== undefined && (socketPid === undefined || socketPid === listenerPid)) {
        const listenerInfo = socketPid === listenerPid ? info : await this.#processInfo(listenerPid, now);
        if (listenerInfo !== undefined) this.#remember(this.#byListener, endpointKey(local), { info: listenerInfo, expires: now + this.#ttlMs });
      }
    }
  }

  /** Finds the pids holding `inodes`: pids seen recently first, every process only if some are still missing. */
  async #findOwners(inodes: Set<number>): Promise<void> {
    const missing = new Set<number>();
    for (const inode of inodes) missing.add(inode);
    const found = new Map<number, number>();
    const scan = async (pids: Iterable<number>): Promise<void> => {
      const list = [...pids];
      const results = await Promise.all(list.map((pid) => this.#procfs.socketInodes(pid)));
      for (let i = 0; i < list.length; i++) {
        for (const inode of results[i]) {
          if (!missing.has(inode)) continue;
          // A socket shared by forked processes: the lowest pid (the parent that opened it) names it.
          const prev = found.get(inode);
          if (prev === undefined || list[i] < prev) found.set(inode, list[i]);
        }
      }
    };
    if (this.#recentPids.size > 0) await scan(this.#recentPids);
    const stillMissing = [...missing].some((inode) => !found.has(inode));
    if (stillMissing) {
      this.#counters.fullScans++;
      const all = await this.#procfs.pids();
      await scan(all);
    }
    // Only what this pass asked for is kept: the map never outgrows one batch.
    this.#inodeOwners = found;
    for (const pid of found.values()) {
      this.#recentPids.delete(pid);
      this.#recentPids.add(pid);
    }
    while (this.#recentPids.size > 256) {
      const oldest = this.#recentPids.values().next().value as number;
      this.#recentPids.delete(oldest);
    }
  }

  async #processInfo(pid: number, now: number): Promise<ProcessInfo | undefined> {
    const cached = this.#processes.get(pid);
    if (cached !== undefined && cached.expires > now) return cached.info;
    const info = await this.#procfs.processInfo(pid, (args) => this.#redactor.redact(args));
    if (this.#processes.size >= this.#maxEntries) {
      const oldest = this.#processes.keys().next().value as number;
      this.#processes.delete(oldest);
      this.#evicted();
    }
    this.#processes.set(pid, { info, expires: now + Math.min(this.#ttlMs, 10_000) });
    return info;
  }

  #remember(map: Map<string, CachedOwner>, key: string, value: CachedOwner): void {
    map.delete(key);
    if (map.size >= this.#maxEntries) {
      const oldest = map.keys().next().value as string;
      map.delete(oldest);
      this.#evicted();
    }
    map.set(key, value);
  }

  #evicted(): void {
    this.#counters.evicted++;
    this.#stats.drops.add('process-cache-entries');
  }
}

function endKey(local: Endpoint, remote: Endpoint): string {
  return `${endpointKey(local)}>${endpointKey(remote)}`;
}
