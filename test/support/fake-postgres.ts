/**
 * A PostgreSQL server that is not one: it listens on 127.0.0.1 (a free port), records what
 * a client sends before authentication (an SSLRequest, the startup parameters, the
 * password) and then refuses it (28P01), so a test can show where a password went and
 * whether TLS was asked for. With `tls`, it accepts an SSLRequest and speaks TLS with that
 * key and certificate; without, it answers "N" like a server without TLS. With `silent`, it
 * records the startup packet and never answers.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TLSSocket } from "node:tls";

/** What one connection sent. */
export interface FakeConnection {
  sslRequested: boolean;
  tls: boolean;
  startup: Record<string, string> | null;
  password: string | null;
}

export interface FakePostgres {
  readonly port: number;
  readonly connections: FakeConnection[];
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/** An ErrorResponse message with this SQLSTATE. */
function errorResponse(sqlstate: string, message: string): Buffer {
  const body = Buffer.from(`SFATAL\0C${sqlstate}\0M${message}\0\0`);
  const head = Buffer.alloc(5);
  head.write("E", 0);
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

/** AuthenticationCleartextPassword. */
function askPassword(): Buffer {
  const message = Buffer.alloc(9);
  message.write("R", 0);
  message.writeInt32BE(8, 1);
  message.writeInt32BE(3, 5);
  return message;
}

/**
 * Starts one. `socketDir`: listen on the Unix socket `<socketDir>/.s.PGSQL.5432` (the
 * name libpq and node-postgres give port 5432 there) instead of 127.0.0.1.
 */
export async function startFakePostgres(options: { readonly tls?: { readonly key: string; readonly cert: string }; readonly socketDir?: string; readonly silent?: boolean } = {}): Promise<FakePostgres> {
  const connections: FakeConnection[] = [];
  const sockets = new Set<Socket>();
  const serve = (socket: Socket | TLSSocket, record: FakeConnection): void => {
    let buffer = Buffer.alloc(0);
    let authenticating = false;
    const onData = (data: Buffer): void => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        if (!authenticating) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          const code = buffer.readInt32BE(4);
          const body = buffer.subarray(8, length);
          buffer = buffer.subarray(length);
          if (code === SSL_REQUEST) {
            record.sslRequested = true;
            if (options.tls === undefined || record.tls) {
              socket.write("N");
              continue;
            }
            socket.off("data", onData);
            socket.write("S");
            const secure = new TLSSocket(socket, { isServer: true, key: options.tls.key, cert: options.tls.cert });
            secure.on("error", () => {});
            record.tls = true;
            serve(secure, record);
            return;
          }
          if (code === GSSENC_REQUEST) {
            socket.write("N");
            continue;
          }
          const parts = body.toString("utf8").split("\0");
          const startup: Record<string, string> = {};
          for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i]) startup[parts[i] as string] = parts[i + 1] as string;
          record.startup = startup;
          // `silent`: a server that takes the connection and never answers (a hung host, a black-holing proxy).
          if (options.silent === true) return;
          authenticating = true;
          socket.write(askPassword());
          continue;
        }
        if (buffer.length < 5) return;
        const length = buffer.readInt32BE(1);
        if (buffer.length < length + 1) return;
        record.password = buffer.subarray(5, length + 1).toString("utf8").replace(/\0$/, "");
        socket.end(errorResponse("28P01", "fake server: password authentication failed"));
        return;
      }
    };
    socket.on("data", onData);
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const record: FakeConnection = { sslRequested: false, tls: false, startup: null, password: null };
    connections.push(record);
    serve(socket, record);
  });
  if (options.socketDir !== undefined) await new Promise<void>((resolve) => server.listen(join(options.socketDir as string, ".s.PGSQL.5432"), resolve));
  else await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null) throw new Error("not listening");
  return {
    port: typeof address === "string" ? 5432 : address.port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A throwaway CA, a server certificate it signs for 127.0.0.1, and a second, unrelated CA (openssl). */
export interface TestCertificates {
  readonly dir: string;
  readonly caCert: string;
  readonly otherCaCert: string;
  readonly serverKey: string;
  readonly serverCert: string;
}

export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "athanor-tls-"));
  const openssl = (...args: string[]): void => {
    execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  };
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=athanor-test-ca");
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out", "other.crt", "-days", "2", "-subj", "/CN=athanor-other-ca");
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1");
  openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-copy_extensions", "copy");
  return { dir, caCert: join(dir, "ca.crt"), otherCaCert: join(dir, "other.crt"), serverKey: join(dir, "server.key"), serverCert: join(dir, "server.crt") };
}
