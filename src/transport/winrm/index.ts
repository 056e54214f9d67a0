/** The `winrm` transport: our own WS-Management (WinRS) client. See docs/transport-winrm.md. */
export { createWinrmTransport, type WinrmSession, type WinrmTransportOptions } from './transport.js';
