/**
 * The one registry of errors shown to users. Each has a stable code, a
 * message and the exit status the CLI uses. Parsers never throw these for
 * bad traffic (that is counted); these are for what stops a command.
 */
export const ErrorCodes = {
  WT_ERR_USAGE: { exitCode: 2, title: 'invalid arguments' },
  WT_ERR_FILE_NOT_FOUND: { exitCode: 2, title: 'file not found' },
  WT_ERR_FILE_UNREADABLE: { exitCode: 2, title: 'file cannot be read' },
  WT_ERR_NOT_A_CAPTURE: { exitCode: 2, title: 'not a pcap or pcapng capture' },
  WT_ERR_CAPTURE_CORRUPT: { exitCode: 2, title: 'capture is corrupt' },
  WT_ERR_CONFIG: { exitCode: 2, title: 'invalid configuration' },
  WT_ERR_CAPTURE_UNAVAILABLE: { exitCode: 2, title: 'live capture cannot start' },
  WT_ERR_OUTPUT: { exitCode: 1, title: 'cannot write output' },
  WT_ERR_INTERNAL: { exitCode: 1, title: 'internal error' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class WiretraceError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WiretraceError';
    this.code = code;
    this.exitCode = ErrorCodes[code].exitCode;
  }
}

export function isWiretraceError(e: unknown): e is WiretraceError {
  return e instanceof WiretraceError;
}
