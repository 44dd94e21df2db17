export interface Endpoint {
  /** IPv4 dotted quad or RFC 5952 compressed IPv6. */
  address: string;
  port: number;
}

export function endpointKey(e: Endpoint): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}
