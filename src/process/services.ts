import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_TELEMETRY_DISTRO_NAME, ATTR_TELEMETRY_DISTRO_VERSION } from '@opentelemetry/semantic-conventions';
import { ATTR_HOST_NAME, ATTR_PROCESS_COMMAND_LINE, ATTR_PROCESS_EXECUTABLE_NAME, ATTR_PROCESS_PID } from '@opentelemetry/semantic-conventions/incubating';
import type { ServiceMapping } from '../config/schema.js';
import type { Endpoint } from '../model/endpoint.js';
import { endpointKey } from '../model/endpoint.js';
import { headerValue, type HttpRequest } from '../model/http.js';
import { WiretraceError } from '../errors.js';
import { cidrContains, formatAddress, parseAddress, parseCidr, type Cidr, type ParsedAddress } from './address.js';
import type { ConnectionEnds, LocalProcessResolver, ProcessInfo } from './owners.js';
import { parseRequestTarget } from './target.js';

export const ATTR_WIRETRACE_SERVICE_KIND = 'wiretrace.service.kind';

export interface ServiceIdentity {
  name: string;
  /** Named only by its address: nothing known runs there (drawn as external in the graph). */
  external: boolean;
  /** The local process that owns the socket (live capture on this host). */
  process?: ProcessInfo;
  /** The service runs on the host wiretrace runs on (live capture): its resource carries host.name. */
  local?: boolean;
}

interface CidrMapping extends Cidr {
  name: string;
}

/** Lookups are memoised per endpoint; the memo is cleared when it reaches this size. */
const MEMO_LIMIT = 65_536;

/**
 * Names the service at each end of an exchange (DESIGN: explicit mappings,
 * then the process owning the socket when one on this host is known, then
 * the HTTP Host, then address:port for a server; a client is never named by
 * its ephemeral port).
 */
export class ServiceNamer {
  readonly #processes: LocalProcessResolver | undefined;
  readonly #byEndpoint = new Map<string, string>();
  readonly #byAddress = new Map<string, string>();
  /** Longest prefix first, so the first hit is the most specific. */
  readonly #cidrs: CidrMapping[] = [];
  readonly #endpointMemo = new Map<string, string | null>();
  readonly #addressMemo = new Map<string, string | null>();

  constructor(mappings: readonly ServiceMapping[], processes?: LocalProcessResolver) {
    this.#processes = processes;
    for (const m of mappings) this.#add(m);
    this.#cidrs.sort((a, b) => b.prefix - a.prefix);
  }

  #add(m: ServiceMapping): void {
    const match = m.match.trim();
    const cidr = parseCidr(match);
    if (cidr) {
      this.#cidrs.push({ ...cidr, name: m.name });
      return;
    }
    const address = parseAddress(match);
    if (address) {
      this.#byAddress.set(formatAddress(address), m.name);
      return;
    }
    const endpoint = parseEndpointText(match);
    if (endpoint) {
      this.#byEndpoint.set(endpointKey({ address: formatAddress(endpoint.address), port: endpoint.port }), m.name);
      return;
    }
    throw new WiretraceError('WT_ERR_CONFIG', `services.mappings: "${m.match}" is not an address, address:port, [IPv6]:port or CIDR`);
  }

  /** Mapping for an endpoint: address:port, then address, then the longest CIDR prefix. */
  mapEndpoint(e: Endpoint): string | undefined {
    const key = endpointKey(e);
    const memo = this.#endpointMemo.get(key);
    if (memo !== undefined) return memo ?? undefined;
    const parsed = parseAddress(e.address);
    let name: string | undefined;
    if (parsed) name = this.#byEndpoint.get(endpointKey({ address: formatAddress(parsed), port: e.port }));
    name ??= this.mapAddress(e.address);
    remember(this.#endpointMemo, key, name ?? null);
    return name;
  }

  /** Mapping for a bare address: exact address, then the longest CIDR prefix. */
  mapAddress(address: string): string | undefined {
    const memo = this.#addressMemo.get(address);
    if (memo !== undefined) return memo ?? undefined;
    const parsed = parseAddress(address);
    const name = parsed ? (this.#byAddress.get(formatAddress(parsed)) ?? this.#matchCidr(parsed)) : undefined;
    remember(this.#addressMemo, address, name ?? null);
    return name;
  }

  #matchCidr(a: ParsedAddress): string | undefined {
    for (const c of this.#cidrs) if (cidrContains(c, a)) return c.name;
    return undefined;
  }

  /** The service that answered at `server` (`client`: the other end, to find the socket's owner). */
  serverService(server: Endpoint, request: HttpRequest | undefined, client?: Endpoint): string {
    return (
      this.mapEndpoint(server) ??
      (client !== undefined ? this.#processes?.ownerOf(server, client)?.serviceName : undefined) ??
      (request ? hostServiceName(request) : undefined) ??
      endpointKey(server)
    );
  }

  /** The identity behind a server span's resource, once `name` is chosen by serverService. */
  serverIdentity(conn: ConnectionEnds, name: string): ServiceIdentity {
    const processes = this.#processes;
    if (processes === undefined) return { name, external: false };
    const owner = processes.ownerOf(conn.server, conn.client);
    return { name, external: false, process: owner?.serviceName === name ? owner : undefined, local: processes.isLocal(conn.server.address) };
  }

  /**
   * The identity behind a CLIENT span. Without a known owning process: the
   * service of the linked server span, else as clientService says. With one:
   * the linked server span's service when that server is the same process
   * (it honours mappings), else a mapping for the client address, else the
   * process's own name — the process is the truth, the link an inference.
   */
  callerIdentity(conn: ConnectionEnds, linked: { name: string; conn: ConnectionEnds } | undefined): ServiceIdentity {
    const processes = this.#processes;
    const owner = processes?.ownerOf(conn.client, conn.server);
    if (processes === undefined || owner === undefined) {
      const identity = linked !== undefined ? { name: linked.name, external: false } : this.clientService(conn.client, undefined);
      if (processes !== undefined && processes.isLocal(conn.client.address)) return { ...identity, external: false, local: true };
      return identity;
    }
    const linkedOwner = linked !== undefined ? processes.ownerOf(linked.conn.server, linked.conn.client) : undefined;
    const name = linked !== undefined && linkedOwner?.pid === owner.pid ? linked.name : (this.mapAddress(conn.client.address) ?? owner.serviceName);
    return { name, external: false, process: owner, local: true };
  }

  /**
   * The service that made a call from `client`: the service whose server span
   * encloses the call, else a mapping for the address, else the bare address
   * (external).
   */
  clientService(client: Endpoint, enclosingServerService: string | undefined): ServiceIdentity {
    if (enclosingServerService !== undefined) return { name: enclosingServerService, external: false };
    const mapped = this.mapAddress(client.address);
    if (mapped !== undefined) return { name: mapped, external: false };
    return { name: client.address, external: true };
  }
}

function remember<V>(memo: Map<string, V>, key: string, value: V): void {
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, value);
}

function parseEndpointText(text: string): { address: ParsedAddress; port: number } | undefined {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return undefined;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0 || text.indexOf(':') !== colon) return undefined;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  const address = parseAddress(host);
  if (!address || port < 1 || port > 65535) return undefined;
  return { address, port };
}

const HOSTNAME = /^[a-z0-9_](?:[a-z0-9_.-]{0,252})$/;
const BRACKETED_V6 = /^\[[0-9a-f:.]{2,45}\]$/;

/**
 * The authority a request names (absolute-form target first, as RFC 9112
 * says, then Host), lowercased, userinfo dropped, the default port dropped,
 * any other port kept so that services sharing one host stay distinct.
 * Undefined when absent or not a plausible host.
 */
export function hostServiceName(request: HttpRequest): string | undefined {
  const target = parseRequestTarget(request.target);
  const raw = target.form === 'absolute' ? target.authority : headerValue(request.headers, 'host');
  if (raw === undefined) return undefined;
  const authority = normaliseAuthority(raw, target.form === 'absolute' ? target.scheme : 'http');
  return authority?.text;
}

export interface Authority {
  host: string;
  /** Undefined when the authority gave none. */
  port?: number;
  /** host[:port] with a default port left out. */
  text: string;
}

export function normaliseAuthority(raw: string, scheme = 'http'): Authority | undefined {
  let s = raw.trim().toLowerCase();
  const at = s.lastIndexOf('@');
  if (at >= 0) s = s.slice(at + 1);
  if (s.length === 0 || s.length > 260) return undefined;
  let host = s;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return undefined;
    host = s.slice(0, close + 1);
    const rest = s.slice(close + 1);
    if (rest.length > 0) {
      if (rest[0] !== ':') return undefined;
      portText = rest.slice(1);
    }
    if (!BRACKETED_V6.test(host)) return undefined;
  } else {
    const colon = s.indexOf(':');
    if (colon >= 0) {
      host = s.slice(0, colon);
      portText = s.slice(colon + 1);
    }
    if (!HOSTNAME.test(host)) return undefined;
  }
  let port: number | undefined;
  if (portText !== undefined && portText !== '') {
    if (!/^\d{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
    if (port < 1 || port > 65535) return undefined;
  }
  const defaultPort = scheme === 'https' ? 443 : 80;
  const text = port === undefined || port === defaultPort ? host : `${host}:${port}`;
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port, text };
}

export interface ResourceOptions {
  /** Added to every resource (config `resource.attributes`, which OTEL_RESOURCE_ATTRIBUTES fills); service.name is wiretrace's to set. */
  attributes?: Readonly<Record<string, string>>;
  /** host.name for the resources of services on this host (identity.local). */
  hostName?: string;
}

/** One Resource per service (and process), so exporters group spans by identity (the OTLP transformer keys on the object). */
export class ResourceCache {
  readonly #resources = new Map<string, Resource>();
  readonly #version: string;
  readonly #limit: number;
  readonly #extra: [string, string][];
  readonly #hostName: string | undefined;

  constructor(version: string, limit = 65_536, options: ResourceOptions = {}) {
    this.#version = version;
    this.#limit = limit;
    this.#extra = Object.entries(options.attributes ?? {}).filter(([k]) => k !== ATTR_SERVICE_NAME);
    this.#hostName = options.hostName;
  }

  get(identity: ServiceIdentity): Resource {
    let key = identity.external ? `x\u0000${identity.name}` : `s\u0000${identity.name}`;
    if (identity.process !== undefined) key += `\u0000${identity.process.pid}`;
    if (identity.local) key += '\u0000local';
    let resource = this.#resources.get(key);
    if (resource === undefined) {
      const attributes: Record<string, string | number> = {};
      if (identity.local && this.#hostName !== undefined) attributes[ATTR_HOST_NAME] = this.#hostName;
      // What the user configured may override host.name, never the identity wiretrace found.
      for (const [k, v] of this.#extra) attributes[k] = v;
      attributes[ATTR_SERVICE_NAME] = identity.name;
      attributes[ATTR_TELEMETRY_DISTRO_NAME] = 'wiretrace';
      attributes[ATTR_TELEMETRY_DISTRO_VERSION] = this.#version;
      if (identity.process !== undefined) {
        attributes[ATTR_PROCESS_PID] = identity.process.pid;
        attributes[ATTR_PROCESS_EXECUTABLE_NAME] = identity.process.executableName;
        attributes[ATTR_PROCESS_COMMAND_LINE] = identity.process.commandLine;
      }
      if (identity.external) attributes[ATTR_WIRETRACE_SERVICE_KIND] = 'external';
      resource = resourceFromAttributes(attributes);
      // Every remote client address can be a service of its own; past the limit, start over rather than grow.
      if (this.#resources.size >= this.#limit) this.#resources.clear();
      this.#resources.set(key, resource);
    }
    return resource;
  }
}
