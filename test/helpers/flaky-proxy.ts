import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FlakyProxy {
  readonly url: string;
  /** Requests answered with a failure instead of being forwarded. */
  readonly failed: string[];
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of a local endpoint that answers the first `times` requests matching
 * `shouldFail` with S3's 500 InternalError, and forwards everything else untouched.
 */
export async function startFlakyProxy(
  target: string,
  shouldFail: (method: string, path: string) => boolean,
  times = 1,
  /** Told every request as it arrives, before it is answered or forwarded. */
  observe?: (request: IncomingMessage) => void,
): Promise<FlakyProxy> {
  const failed: string[] = [];
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    observe?.(req);
    const path = req.url ?? '/';
    if (failed.length < times && shouldFail(req.method ?? 'GET', path)) {
      failed.push(`${req.method} ${path}`);
      req.resume();
      req.on('end', () => {
        res.writeHead(500, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>');
      });
      return;
    }
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    failed,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
