/**
 * A TCP listener that counts the connections it receives and closes each at once: the
 * URL tests point a decoy host or port at it and check that athanor never connected.
 */
import { createServer, type Server } from "node:net";

export interface CountingListener {
  readonly port: number;
  readonly connections: () => number;
  readonly close: () => Promise<void>;
}

/** Listens on a free port of `host` (a loopback address: 127.0.0.1 by default, 127.0.0.2 for "another host"). */
export async function countingListener(host = "127.0.0.1"): Promise<CountingListener> {
  let count = 0;
  const listener: Server = createServer((socket) => {
    count += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, host, resolve));
  const address = listener.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { port: address.port, connections: () => count, close: () => new Promise((resolve) => listener.close(() => resolve())) };
}
