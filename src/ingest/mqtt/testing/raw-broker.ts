/**
 * A minimal MQTT 3.1.1 broker on a real socket, for tests that must see what a broker cannot
 * show: the order of the subscriber's PUBACKs and when each left. It accepts any CONNECT and
 * SUBSCRIBE (granting QoS 1), answers PINGREQ, sends QoS 1 PUBLISHes on demand (packet ids
 * 1, 2, …), and records every PUBACK's packet id in arrival order.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface RawBroker {
  readonly url: string;
  /** PUBACK packet ids, in the order they arrived. */
  readonly pubacks: number[];
  /** Resolves once a client has subscribed; its socket. */
  subscribed(): Promise<Socket>;
  /** QoS 1 PUBLISHes with ids `firstId`, `firstId + 1`, …, written as one chunk. */
  publish(socket: Socket, topic: string, payloads: readonly string[], firstId?: number): void;
  /** Called on each PUBACK (after it is recorded). */
  onPuback?: (id: number) => void;
  close(): Promise<void>;
}

function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}

function packet(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), remainingLength(body.length), body]);
}

function publishPacket(topic: string, id: number, payload: string): Buffer {
  const t = Buffer.from(topic);
  const head = Buffer.alloc(2 + t.length + 2);
  head.writeUInt16BE(t.length, 0);
  t.copy(head, 2);
  head.writeUInt16BE(id, 2 + t.length);
  return packet(0x32, Buffer.concat([head, Buffer.from(payload)]));
}

export async function startRawBroker(): Promise<RawBroker> {
  const sockets = new Set<Socket>();
  const waiting: ((s: Socket) => void)[] = [];
  const broker: RawBroker = {
    url: '',
    pubacks: [],
    subscribed: () => new Promise((resolve) => waiting.push(resolve)),
    publish(socket, topic, payloads, firstId = 1) {
      socket.write(Buffer.concat(payloads.map((p, i) => publishPacket(topic, firstId + i, p))));
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        let length = 0;
        let multiplier = 1;
        let at = 1;
        for (;;) {
          if (at >= buffer.length) return;
          const b = buffer[at++]!;
          length += (b & 0x7f) * multiplier;
          multiplier *= 128;
          if ((b & 0x80) === 0) break;
        }
        if (buffer.length < at + length) return;
        const type = buffer[0]! >> 4;
        const body = buffer.subarray(at, at + length);
        buffer = buffer.subarray(at + length);
        if (type === 1)
          socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00])); // CONNACK
        else if (type === 8) {
          // SUBSCRIBE: grant QoS 1 to each filter.
          const filters = countFilters(body.subarray(2));
          socket.write(
            packet(0x90, Buffer.concat([body.subarray(0, 2), Buffer.alloc(filters, 1)])),
          );
          for (const resolve of waiting.splice(0)) resolve(socket);
        } else if (type === 4) {
          const id = body.readUInt16BE(0);
          broker.pubacks.push(id);
          broker.onPuback?.(id);
        } else if (type === 12) socket.write(Buffer.from([0xd0, 0x00])); // PINGRESP
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return Object.assign(broker, { url: `mqtt://127.0.0.1:${port}` });
}

function countFilters(payload: Buffer): number {
  let n = 0;
  for (let at = 0; at + 2 <= payload.length; n++) at += 2 + payload.readUInt16BE(at) + 1;
  return n;
}
