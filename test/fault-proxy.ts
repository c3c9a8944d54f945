import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of a real service (PostgreSQL, clamd, ...) that a fault test can turn bad:
 * `pass` relays; `delay` holds each reply for `delayMs`; `stall` accepts and never answers; `garbage`
 * answers anything with junk; `cut` relays until the client has sent `cutAfterBytes`, then drops both
 * sides (the service died mid-request); `down()` refuses connections (the port stays reserved for `up()`).
 */
export type FaultMode = "pass" | "delay" | "stall" | "garbage" | "cut";

export interface FaultProxy {
  readonly port: number;
  mode: FaultMode;
  delayMs: number;
  /** For `cut`: how many bytes of a request get through before the connection drops. */
  cutAfterBytes: number;
  /** Connections dropped by `cut` so far. */
  readonly cuts: number;
  /** Closes every live connection (a crash or a network cut as the client sees it). */
  cut(): void;
  /** Stops listening: new connections are refused. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
  };
  let server: Server;
  const proxy: FaultProxy = {
    port: 0,
    mode: "pass",
    delayMs: 0,
    cutAfterBytes: 64 * 1024,
    cuts: 0,
    cut() {
      for (const s of sockets) s.destroy();
    },
    async down() {
      proxy.cut();
      await new Promise<void>((r) => server.close(() => r()));
    },
    async up() {
      if (server.listening) return;
      server = listen();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(proxy.port, "127.0.0.1", () => resolve());
      });
    },
    async close() {
      proxy.cut();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };

  function listen(): Server {
    return createServer((client) => {
      track(client);
      const mode = proxy.mode;
      if (mode === "stall") {
        client.resume(); // read and drop: the client believes it is being heard
        return;
      }
      if (mode === "garbage") {
        client.once("data", () => client.end("\u0000\u00ff garbage that no protocol expects \r\n\u0000"));
        return;
      }
      const upstream = connect(target.port, target.host);
      track(upstream);
      if (mode === "cut") {
        let sent = 0;
        client.on("data", (chunk: Buffer) => {
          sent += chunk.length;
          if (sent <= proxy.cutAfterBytes) return;
          (proxy as { cuts: number }).cuts++;
          upstream.destroy();
          client.destroy();
        });
      }
      client.pipe(upstream);
      if (mode === "delay") upstream.on("data", (chunk: Buffer) => setTimeout(() => client.write(chunk), proxy.delayMs));
      else upstream.pipe(client);
      upstream.on("end", () => setTimeout(() => client.end(), mode === "delay" ? proxy.delayMs : 0));
      upstream.on("close", () => setTimeout(() => client.destroy(), mode === "delay" ? proxy.delayMs + 50 : 0));
      client.on("close", () => upstream.destroy());
    });
  }

  server = listen();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  (proxy as { port: number }).port = (server.address() as AddressInfo).port;
  return proxy;
}
