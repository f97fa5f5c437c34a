/**
 * gRPC `Ingest.Stream`: one long-lived bidirectional stream, one batch in flight; acknowledged by
 * an `IngestAck` with status OK for the batch's seq_id. A broken stream is reopened on the next
 * send (the server was killed); STATUS_CODE_RETRY is backpressure.
 */
import * as grpc from '@grpc/grpc-js';
import { loadVigilProto } from '../../ingest/grpc/proto.js';
import type { IngestAck__Output } from '../../ingest/grpc/generated/vigil/v1/IngestAck.js';
import type { IngestRequest } from '../../ingest/grpc/generated/vigil/v1/IngestRequest.js';
import type { ChaosPoint } from '../points.js';
import { Transient, type Sender } from './sender.js';

type Call = grpc.ClientDuplexStream<IngestRequest, IngestAck__Output>;

interface Waiter {
  readonly seq: string;
  resolve(): void;
  reject(err: Error): void;
}

export function grpcSender(address: string): Sender {
  const { vigil } = loadVigilProto();
  const client = new vigil.v1.Ingest(address, grpc.credentials.createInsecure(), {
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 500,
  });
  let call: Call | null = null;
  let waiter: Waiter | null = null;
  let seq = 0;

  const fail = (err: Error): void => {
    const w = waiter;
    waiter = null;
    w?.reject(err);
  };

  const open = (): Call => {
    const c = client.Stream() as Call;
    c.on('data', (ack: IngestAck__Output) => {
      const w = waiter;
      if (w === null || ack.seq_id !== w.seq) return;
      waiter = null;
      if (ack.status === 'STATUS_CODE_OK') w.resolve();
      else if (ack.status === 'STATUS_CODE_RETRY') w.reject(new Transient(`grpc: ${ack.message}`));
      else w.reject(new Error(`grpc: ${ack.status} ${ack.message}`));
    });
    const broken = (err?: Error): void => {
      if (call === c) call = null;
      fail(new Transient(`grpc: stream ended${err ? `: ${err.message}` : ''}`));
    };
    c.on('error', broken);
    c.on('end', () => broken());
    return c;
  };

  return {
    send(points: readonly ChaosPoint[]) {
      call ??= open();
      const current = call;
      const id = String(++seq);
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          if (waiter?.seq !== id) return;
          current.cancel();
          fail(new Transient('grpc: no ack within 15 s'));
        }, 15_000);
        waiter = {
          seq: id,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        };
        current.write({
          batch: {
            seq_id: id,
            points: points.map((p) => ({
              timestamp: p.time,
              device_id: p.device,
              metrics: { [p.metric]: p.value },
            })),
          },
        });
      });
    },
    close() {
      call?.cancel();
      client.close();
      return Promise.resolve();
    },
  };
}
