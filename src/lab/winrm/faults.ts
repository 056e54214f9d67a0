/**
 * Broken-peer replies of the lab WS-Management listener (`--faults winrm-500|winrm-garbage-xml|winrm-truncated`,
 * docs/lab.md): once a request is authenticated, the listener answers it the way a sick WinRM service or a
 * broken proxy in front of one does, instead of doing the operation.
 *
 *   http-500     HTTP 500 with an HTML error page and no SOAP fault (IIS/http.sys or a proxy failing, not WinRM
 *                reporting a WS-Man fault — that one is a SOAP envelope and is a different, handled case)
 *   garbage-xml  HTTP 200 with a body that is not XML at all
 *   truncated    HTTP 200 whose body stops half-way: the Content-Length promises more, then the connection closes
 *
 * Every WS-Man request is answered so (the first is the shell's Create): the client sees the fault before any
 * command runs, which is the state the engine must classify (nothing changed). Faults mid-command are the
 * `drop` fault's job (server.ts, dropMidCommand).
 */
import type http from 'node:http';
import type net from 'node:net';

export type LabBadReply = 'http-500' | 'garbage-xml' | 'truncated';

const ERROR_PAGE = '<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>';
const HALF_AN_ENVELOPE =
  '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">' +
  '<s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse</a:Action></s:Header><s:Body><x:ResourceCreated';

/** Answer `res` with the broken reply `kind` (the request's own content is ignored). */
export function sendBadReply(kind: LabBadReply, res: http.ServerResponse, socket: net.Socket): void {
  const headers = { Server: 'Microsoft-HTTPAPI/2.0' };
  switch (kind) {
    case 'http-500': {
      const body = Buffer.from(ERROR_PAGE, 'utf8');
      res.writeHead(500, { ...headers, 'Content-Type': 'text/html', 'Content-Length': String(body.length) });
      res.end(body);
      return;
    }
    case 'garbage-xml': {
      const body = Buffer.from('\u0000\u0001 not xml <<<>>> &&& \uFFFD', 'utf8');
      res.writeHead(200, { ...headers, 'Content-Type': 'application/soap+xml;charset=UTF-8', 'Content-Length': String(body.length) });
      res.end(body);
      return;
    }
    case 'truncated': {
      const body = Buffer.from(HALF_AN_ENVELOPE, 'utf8');
      res.writeHead(200, { ...headers, 'Content-Type': 'application/soap+xml;charset=UTF-8', 'Content-Length': String(body.length * 2) });
      // Half of what the header promised, then the connection goes.
      res.write(body, () => socket.destroy());
      return;
    }
  }
}
