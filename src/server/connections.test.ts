/** The connection cap on a real socket: `limits.max_connections` open, the next one is closed. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { sampleValue } from '../metrics/testing.js';
import { startTestService } from './testing/running-service.js';

/** A raw socket that sends one keep-alive GET /healthz; resolves with what it read by then. */
async function keepAlive(port: number): Promise<{ socket: net.Socket; answer: Promise<string> }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.includes('"status":"ok"')) resolve(text);
    });
    socket.on('close', () => resolve(text));
    socket.on('error', () => undefined);
  });
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
  return { socket, answer };
}

test('with max_connections 2, a third socket is closed unanswered; freed slots serve again', async () => {
  const s = await startTestService({ limits: { maxConnections: 2 } });
  try {
    const a = await keepAlive(s.port);
    const b = await keepAlive(s.port);
    assert.match(await a.answer, /^HTTP\/1\.1 200/);
    assert.match(await b.answer, /^HTTP\/1\.1 200/);
    // Both are still open (keep-alive): the third is dropped before any byte is read.
    const c = await keepAlive(s.port);
    assert.equal(await c.answer, '');
    assert.equal(c.socket.destroyed || c.socket.readableEnded, true);
    assert.equal(await sampleValue(s.registry, 'vigil_http_connections', ''), 2);
    assert.equal(await sampleValue(s.registry, 'vigil_http_connections_refused_total', ''), 1);

    a.socket.destroy();
    b.socket.destroy();
    await once(b.socket, 'close');
    // The server sees the closes a moment later; poll with new sockets until one is answered.
    let answered = '';
    for (let i = 0; i < 50 && answered === ''; i++) {
      const d = await keepAlive(s.port);
      answered = await d.answer;
      d.socket.destroy();
    }
    assert.match(answered, /^HTTP\/1\.1 200/);
  } finally {
    await s.stop();
  }
});
