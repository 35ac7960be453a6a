/**
 * A TCP-level stand-in for network distance: an HTTP relay on 127.0.0.1 that waits `delayMs`
 * before forwarding each request to a real node agent, then pipes the answer back unchanged
 * (streams included). Every node in a test runs on this machine, so round-trip times are all
 * ~1 ms; a node registered behind this relay is "far away", which is what the SDK's round-trip
 * refinement and latency SLA are about. Nothing else about the node is changed.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export type SlowLink = { url: string; port: number; close: () => Promise<void> };

export function startSlowLink(target: string, delayMs: number, port = 0): Promise<SlowLink> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    setTimeout(() => {
      const out = request(
        {
          hostname: t.hostname,
          port: t.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: t.host },
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          up.on("error", () => res.destroy());
        },
      );
      out.on("error", () => {
        // The node is down or dropped the connection: drop ours too, as a network would.
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
      req.pipe(out);
    }, delayMs);
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const addr = server.address();
      const p = typeof addr === "object" && addr ? addr.port : port;
      resolve({
        url: `http://127.0.0.1:${p}`,
        port: p,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
