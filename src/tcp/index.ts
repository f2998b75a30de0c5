export { NewReno } from './congestion/newreno.js';
export type { CongestionControl, CongestionFactory } from './congestion.js';
export { TcpError, type TcpErrorCode } from './errors.js';
export { type Connection, type ConnectionOptions, TcpMux } from './mux.js';
export { emitTcpSegment, parseTcpSegment, TcpFlag, type TcpOptions, type TcpSegment } from './segment.js';
export { TcpServer } from './server.js';
export { TcpSocket } from './socket.js';
export { type KeepaliveConfig, Tcb, type TcbConfig, type TcbStats, type TcpState } from './tcb.js';
