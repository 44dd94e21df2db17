import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { NodeKind } from './types.js';

/** Resource attribute the wire pipeline sets on spans of a caller known only by its address. */
export const ATTR_SERVICE_KIND = 'wiretrace.service.kind';

/** Ports whose servers are databases or caches, for peers no span names. */
export const DATABASE_PORTS: ReadonlySet<number> = new Set([5432, 3306, 6379, 27017, 9042, 1433, 1521, 11211]);

export function serviceOf(span: ReadableSpan): string {
  const name = span.resource.attributes['service.name'];
  return typeof name === 'string' && name !== '' ? name : 'unknown';
}

export function isExternalOwner(span: ReadableSpan): boolean {
  return span.resource.attributes[ATTR_SERVICE_KIND] === 'external';
}

export function isErrorSpan(span: ReadableSpan): boolean {
  return span.status.code === SpanStatusCode.ERROR;
}

export function startMs(span: ReadableSpan): number {
  return span.startTime[0] * 1e3 + span.startTime[1] / 1e6;
}

export function endMs(span: ReadableSpan): number {
  return span.endTime[0] * 1e3 + span.endTime[1] / 1e6;
}

/** Duration in milliseconds; a span that ends before it starts (clock skew) counts as zero. */
export function durationMs(span: ReadableSpan): number {
  const d = (span.endTime[0] - span.startTime[0]) * 1e3 + (span.endTime[1] - span.startTime[1]) / 1e6;
  return d > 0 ? d : 0;
}

export function numberAttr(span: ReadableSpan, key: string): number | undefined {
  const v = span.attributes[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

export function stringAttr(span: ReadableSpan, key: string): string | undefined {
  const v = span.attributes[key];
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

function dbSystemOf(span: ReadableSpan): string | undefined {
  return stringAttr(span, 'db.system.name') ?? stringAttr(span, 'db.system');
}

/** A SERVER span says its service is a database when it carries a database system or listens on a database port. */
export function servesDatabase(span: ReadableSpan): boolean {
  if (dbSystemOf(span) !== undefined) return true;
  const port = numberAttr(span, 'server.port');
  return port !== undefined && DATABASE_PORTS.has(port);
}

function hostPort(address: string, port: number | undefined): string {
  if (port === undefined) return address;
  return address.includes(':') && !address.startsWith('[') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * The node a CLIENT span called when no SERVER span answers it (an
 * uninstrumented database or API): peer.service, else the database system
 * at its address, else the address and port it called.
 */
export function peerOf(span: ReadableSpan): { name: string; kind: NodeKind } {
  const dbSystem = dbSystemOf(span);
  const address = stringAttr(span, 'server.address') ?? stringAttr(span, 'net.peer.name');
  const port = numberAttr(span, 'server.port') ?? numberAttr(span, 'net.peer.port');
  const kind: NodeKind = dbSystem !== undefined || (port !== undefined && DATABASE_PORTS.has(port)) ? 'database' : 'external';
  const peerService = stringAttr(span, 'peer.service');
  if (peerService !== undefined) return { name: peerService, kind };
  if (dbSystem !== undefined) return { name: address !== undefined ? `${dbSystem}@${address}` : dbSystem, kind };
  if (address !== undefined) return { name: hostPort(address, port), kind };
  return { name: 'unknown peer', kind };
}
