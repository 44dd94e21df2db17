import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_TELEMETRY_DISTRO_NAME, ATTR_TELEMETRY_DISTRO_VERSION } from '@opentelemetry/semantic-conventions';
import type { ServiceMapping } from '../config/schema.js';
import type { Endpoint } from '../model/endpoint.js';
import { endpointKey } from '../model/endpoint.js';
import { headerValue, type HttpRequest } from '../model/http.js';
import { WiretraceError } from '../errors.js';
import { cidrContains, formatAddress, parseAddress, parseCidr, type Cidr, type ParsedAddress } from './address.js';
import { parseRequestTarget } from './target.js';

export const ATTR_WIRETRACE_SERVICE_KIND = 'wiretrace.service.kind';

export interface ServiceIdentity {
  name: string;
  /** Named only by its address: nothing known runs there (drawn as external in the graph). */
  external: boolean;
}

interface CidrMapping extends Cidr {
  name: string;
}

/** Lookups are memoised per endpoint; the memo is cleared when it reaches this size. */
const MEMO_LIMIT = 65_536;

/**
 * Names the service at each end of an exchange (DESIGN: explicit mappings,
 * then the HTTP Host, then address:port for a server; a client is never
 * named by its ephemeral port).
 */
export class ServiceNamer {
  readonly #byEndpoint = new Map<string, string>();
  readonly #byAddress = new Map<string, string>();
  /** Longest prefix first, so the first hit is the most specific. */
  readonly #cidrs: CidrMapping[] = [];
  readonly #endpointMemo = new Map<string, string | null>();
  readonly #addressMemo = new Map<string, string | null>();

  constructor(mappings: readonly ServiceMapping[]) {
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

  /** The service that answered at `server`. */
  serverService(server: Endpoint, request: HttpRequest | undefined): string {
    return this.mapEndpoint(server) ?? (request ? hostServiceName(request) : undefined) ?? endpointKey(server);
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

/** One Resource per service, so exporters group spans by identity (the OTLP transformer keys on the object). */
export class ResourceCache {
  readonly #resources = new Map<string, Resource>();
  readonly #version: string;
  readonly #limit: number;

  constructor(version: string, limit = 65_536) {
    this.#version = version;
    this.#limit = limit;
  }

  get(identity: ServiceIdentity): Resource {
    const key = identity.external ? `x\u0000${identity.name}` : `s\u0000${identity.name}`;
    let resource = this.#resources.get(key);
    if (resource === undefined) {
      const attributes: Record<string, string> = {
        [ATTR_SERVICE_NAME]: identity.name,
        [ATTR_TELEMETRY_DISTRO_NAME]: 'wiretrace',
        [ATTR_TELEMETRY_DISTRO_VERSION]: this.#version,
      };
      if (identity.external) attributes[ATTR_WIRETRACE_SERVICE_KIND] = 'external';
      resource = resourceFromAttributes(attributes);
      // Every remote client address can be a service of its own; past the limit, start over rather than grow.
      if (this.#resources.size >= this.#limit) this.#resources.clear();
      this.#resources.set(key, resource);
    }
    return resource;
  }
}
