/**
 * One connection of the engine client (./client.ts): dials, runs the handshake (./handshake.ts),
 * then splits the server's replies into frames. The client decides what to send and when to dial
 * again; this file only keeps a connection's bytes in order.
 */
import net from 'node:net';
import { authenticate } from './handshake';
import { FrameReader, REPLY_HEADER_BYTES } from './protocol';

export interface DialHandlers {
  /** Both ends proved the secret: requests may be written. */
  ready(socket: net.Socket): void;
  /** The handshake failed; the socket is destroyed and `closed` follows. */
  refused(error: Error): void;
  /** One reply frame; a throw (ProtocolError) ends the connection. */
  reply(frame: Buffer): void;
  /** The connection is gone, whatever the reason; once per dial. */
  closed(socket: net.Socket): void;
}

export function dialEngine(
  address: { host: string; port: number },
  key: Buffer,
  handlers: DialHandlers,
): net.Socket {
  const where = `${address.host}:${address.port}`;
  const socket = net.connect({ ...address, noDelay: true });
  socket.on('connect', () => {
    authenticate(socket, key, where).then(
      (rest) => listen(socket, rest, handlers),
      (error: Error) => {
        socket.destroy();
        handlers.refused(error);
      },
    );
  });
  socket.on('error', () => undefined); // 'close' follows and handles it
  socket.on('close', () => handlers.closed(socket));
  return socket;
}

function listen(socket: net.Socket, rest: Buffer, handlers: DialHandlers): void {
  if (socket.destroyed) return;
  const reader = new FrameReader(REPLY_HEADER_BYTES, (frame) => handlers.reply(frame));
  const onData = (chunk: Buffer): void => {
    try {
      reader.push(chunk);
    } catch (error) {
      // A reply we cannot parse: the stream is out of step, so the connection goes.
      process.emitWarning(`engine client: ${(error as Error).message}; reconnecting`);
      socket.destroy();
    }
  };
  socket.on('data', onData);
  handlers.ready(socket);
  if (rest.length > 0) onData(rest);
  socket.resume();
}
