export { ProtocolDispatcher, PROBE_BYTES, MID_STREAM_SCAN_BYTES } from './detect.js';
export {
  ProbeVerdict,
  type ProtocolDetector,
  defaultDetectors,
  http1Detector,
  http2PrefaceDetector,
  tlsDetector,
} from './detectors.js';
export { Http1Connection, type Http1ConnectionOptions, type PendingWatcher } from './http1/connection.js';
export { Http1ExchangePairing, type PairingLimits } from './http1/exchanges.js';
export { Http1DirectionParser, type Http1ParserHost, MessageRole } from './http1/parser.js';
