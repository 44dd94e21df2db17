import { SpanStatusCode, type Attributes, type AttributeValue, type SpanStatus } from '@opentelemetry/api';
import type { TimedEvent } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_CLIENT_PORT,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_HEADER,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_HEADER,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_PROTOCOL_NAME,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
  ATTR_URL_PATH,
  ATTR_URL_QUERY,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
  HTTP_REQUEST_METHOD_VALUE_OTHER,
} from '@opentelemetry/semantic-conventions';
import type { WiretraceConfig } from '../config/schema.js';
import { endpointKey } from '../model/endpoint.js';
import type { Exchange } from '../model/exchange.js';
import { headerValue, type HeaderField } from '../model/http.js';
import { hrAddNanos, hrCompare, type HrTime } from '../model/time.js';
import type { WireTraceContext } from '../model/trace.js';
import { isNeverExported, Redactor } from './redact.js';
import { RouteTemplater } from './routes.js';
import { normaliseAuthority } from './services.js';
import { parseRequestTarget } from './target.js';

// Incubating in the semantic conventions; the package advises copying such names rather than importing them.
export const ATTR_HTTP_REQUEST_BODY_SIZE = 'http.request.body.size';
export const ATTR_HTTP_RESPONSE_BODY_SIZE = 'http.response.body.size';
export const ATTR_URL_TEMPLATE = 'url.template';

export const ATTR_WIRETRACE_OUTCOME = 'wiretrace.outcome';
export const ATTR_WIRETRACE_INCOMPLETE = 'wiretrace.incomplete';
export const ATTR_WIRETRACE_TRUNCATED = 'wiretrace.truncated';
export const ATTR_WIRETRACE_CONTEXT_SOURCE = 'wiretrace.context.source';
export const ATTR_WIRETRACE_LINK = 'wiretrace.link';
export const ATTR_WIRETRACE_CONNECTION_ID = 'wiretrace.connection.id';

/** The methods the HTTP semantic conventions know; any other is reported as `_OTHER`. */
const KNOWN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);

export interface ExchangeDescription {
  /** `METHOD route`, `METHOD` when there is no path, `HTTP` for an unknown method or an orphan response. */
  name: string;
  route?: string;
  server: { attributes: Attributes; status: SpanStatus };
  client: { attributes: Attributes; status: SpanStatus };
  /** Interim (1xx) responses. */
  events: TimedEvent[];
}

const UNSET: SpanStatus = { code: SpanStatusCode.UNSET };
const TIMEOUT: SpanStatus = { code: SpanStatusCode.ERROR, message: 'timeout' };
const ERROR: SpanStatus = { code: SpanStatusCode.ERROR };

/**
 * Names, attributes and status of the two spans of an exchange, after the
 * current HTTP semantic conventions, with routes templated and secrets
 * redacted.
 */
export class HttpSpanDescriber {
  readonly #routes: RouteTemplater;
  readonly #redactor: Redactor;
  readonly #requestHeaders: string[];
  readonly #responseHeaders: string[];

  constructor(config: WiretraceConfig) {
    this.#routes = new RouteTemplater(config.routes);
    this.#redactor = new Redactor(config.redaction);
    const recordable = (names: string[]) => [...new Set(names.map((n) => n.toLowerCase().trim()))].filter((n) => n.length > 0 && !isNeverExported(n));
    this.#requestHeaders = recordable(config.spans.recordRequestHeaders);
    this.#responseHeaders = recordable(config.spans.recordResponseHeaders);
  }

  get redactor(): Redactor {
    return this.#redactor;
  }

  describe(exchange: Exchange, context: WireTraceContext | undefined): ExchangeDescription {
    const { request, response, connection } = exchange;
    // Written to both directly: spreading a shared object per span costs more than the second write.
    const server: Attributes = {};
    const client: Attributes = {};
    const both = (key: string, value: AttributeValue) => {
      server[key] = value;
      client[key] = value;
    };
    let name = 'HTTP';
    let route: string | undefined;

    if (request) {
      const method = request.method;
      if (KNOWN_METHODS.has(method)) {
        both(ATTR_HTTP_REQUEST_METHOD, method);
        name = method;
      } else {
        both(ATTR_HTTP_REQUEST_METHOD, HTTP_REQUEST_METHOD_VALUE_OTHER);
        both(ATTR_HTTP_REQUEST_METHOD_ORIGINAL, method);
      }
      const target = parseRequestTarget(request.target);
      const scheme = target.scheme ?? 'http';
      both(ATTR_URL_SCHEME, scheme);
      const authorityText = target.form === 'origin' || target.form === 'asterisk' ? headerValue(request.headers, 'host') : target.authority;
      const authority = authorityText !== undefined ? normaliseAuthority(authorityText, scheme) : undefined;
      if (authority) {
        both(ATTR_SERVER_ADDRESS, authority.host);
        both(ATTR_SERVER_PORT, authority.port ?? (scheme === 'https' ? 443 : 80));
      } else {
        both(ATTR_SERVER_ADDRESS, connection.server.address);
        both(ATTR_SERVER_PORT, connection.server.port);
      }
      if (target.path !== undefined) {
        route = this.#routes.route(target.path);
        name = `${name} ${route}`;
        both(ATTR_URL_PATH, target.path);
        server[ATTR_HTTP_ROUTE] = route;
        client[ATTR_URL_TEMPLATE] = route;
        const query = target.query !== undefined ? this.#redactor.redactQuery(target.query) : undefined;
        if (query !== undefined) both(ATTR_URL_QUERY, query);
        const host = authority ? authority.text : endpointKey(connection.server);
        client[ATTR_URL_FULL] = `${scheme}://${host}${target.path}${query !== undefined ? `?${query}` : ''}`;
      }
      const userAgent = headerValue(request.headers, 'user-agent');
      if (userAgent !== undefined) both(ATTR_USER_AGENT_ORIGINAL, userAgent);
      both(ATTR_HTTP_REQUEST_BODY_SIZE, request.bodySize);
      recordHeaders(both, request.headers, this.#requestHeaders, ATTR_HTTP_REQUEST_HEADER);
    } else {
      both(ATTR_SERVER_ADDRESS, connection.server.address);
      both(ATTR_SERVER_PORT, connection.server.port);
    }

    both(ATTR_NETWORK_PROTOCOL_NAME, 'http');
    const version = protocolVersion(request?.version ?? response?.version);
    if (version !== undefined) both(ATTR_NETWORK_PROTOCOL_VERSION, version);

    let serverStatus = UNSET;
    let clientStatus = UNSET;
    if (exchange.outcome === 'timeout') {
      serverStatus = TIMEOUT;
      clientStatus = TIMEOUT;
      both(ATTR_ERROR_TYPE, 'timeout');
    } else if (response) {
      const status = response.status;
      both(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      both(ATTR_HTTP_RESPONSE_BODY_SIZE, response.bodySize);
      recordHeaders(both, response.headers, this.#responseHeaders, ATTR_HTTP_RESPONSE_HEADER);
      if (status >= 500) {
        serverStatus = ERROR;
        server[ATTR_ERROR_TYPE] = String(status);
      }
      if (status >= 400) {
        clientStatus = ERROR;
        client[ATTR_ERROR_TYPE] = String(status);
      }
    }

    both(ATTR_WIRETRACE_OUTCOME, exchange.outcome);
    if (exchange.outcome === 'incomplete') both(ATTR_WIRETRACE_INCOMPLETE, true);
    if (request?.truncated || response?.truncated) both(ATTR_WIRETRACE_TRUNCATED, true);
    if (context) both(ATTR_WIRETRACE_CONTEXT_SOURCE, context.source);
    both(ATTR_WIRETRACE_CONNECTION_ID, connection.id);

    server[ATTR_CLIENT_ADDRESS] = connection.client.address;
    server[ATTR_CLIENT_PORT] = connection.client.port;
    server[ATTR_NETWORK_PEER_ADDRESS] = connection.client.address;
    server[ATTR_NETWORK_PEER_PORT] = connection.client.port;
    client[ATTR_NETWORK_PEER_ADDRESS] = connection.server.address;
    client[ATTR_NETWORK_PEER_PORT] = connection.server.port;
    if (context?.baggage) {
      for (const [key, value] of Object.entries(context.baggage)) {
        server[`baggage.${key}`] = this.#redactor.isSensitiveName(key) ? this.#redactor.replacement : value;
      }
    }

    const events: TimedEvent[] = [];
    if (exchange.interim) {
      for (const r of exchange.interim) {
        events.push({ name: 'http.response.interim', time: r.startTime, attributes: { [ATTR_HTTP_RESPONSE_STATUS_CODE]: r.status } });
      }
    }

    const description: ExchangeDescription = {
      name,
      server: { attributes: server, status: serverStatus },
      client: { attributes: client, status: clientStatus },
      events,
    };
    if (route !== undefined) description.route = route;
    return description;
  }
}

function protocolVersion(version: string | undefined): string | undefined {
  if (version === undefined) return undefined;
  const m = /^HTTP\/(\d(?:\.\d)?)$/i.exec(version);
  return m ? m[1] : undefined;
}

function recordHeaders(
  put: (key: string, value: AttributeValue) => void,
  headers: readonly HeaderField[],
  names: readonly string[],
  key: (name: string) => string,
): void {
  for (const name of names) {
    let values: string[] | undefined;
    for (const h of headers) if (h.name === name) (values ??= []).push(h.value);
    if (values) put(key(name), values);
  }
}

/** End of an exchange as its spans show it: a timeout lasts exactly the configured timeout; never before the start. */
export function spanEndTime(exchange: Exchange, timeoutSeconds: number): HrTime {
  const end = exchange.outcome === 'timeout' ? hrAddNanos(exchange.start, Math.round(timeoutSeconds * 1e9)) : exchange.end;
  return hrCompare(end, exchange.start) < 0 ? exchange.start : end;
}
