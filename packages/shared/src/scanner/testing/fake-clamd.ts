import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createServer, type Server, type Socket } from "node:net";

/**
 * A tiny TCP server for tests that need clamd to misbehave (garbage, silence, slow reads). The handler gets
 * each connection; `readInstream` parses the client's side of INSTREAM.
 */
export interface FakeClamd {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: () => number;
  close(): Promise<void>;
}

export async function startFakeClamd(handler: (socket: Socket) => void): Promise<FakeClamd> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    handler(socket);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => count,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads `z<COMMAND>\0` and, for INSTREAM, the frames up to the zero-length terminator. */
export function readInstream(socket: Socket): Promise<{ command: string; frames: number[]; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    let command: string | undefined;
    const frames: number[] = [];
    const payload: Buffer[] = [];
    const onData = (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      if (command === undefined) {
        const end = buffer.indexOf(0);
        if (end < 0) return;
        command = buffer.subarray(0, end).toString();
        buffer = buffer.subarray(end + 1);
        if (command !== "zINSTREAM") {
          socket.off("data", onData);
          resolve({ command, frames, bytes: Buffer.alloc(0) });
          return;
        }
      }
      while (buffer.length >= 4) {
        const length = buffer.readUInt32BE(0);
        if (length === 0) {
          socket.off("data", onData);
          resolve({ command, frames, bytes: Buffer.concat(payload) });
          return;
        }
        if (buffer.length < 4 + length) return;
        frames.push(length);
        payload.push(buffer.subarray(4, 4 + length));
        buffer = buffer.subarray(4 + length);
      }
    };
    socket.on("data", onData);
    socket.on("error", reject);
  });
}
