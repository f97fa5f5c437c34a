/**
 * The transport limit `npm run bench:ingest` compares gRPC ingest with: a grpc-js server of the
 * same Ingest service whose Stream acknowledges each request as it arrives — nothing decoded,
 * validated, spooled, scored or stored. Run as its own process; prints its port on stdout.
 *
 *   node dist/bench/bare-grpc-server.js
 */
import * as grpc from '@grpc/grpc-js';
import { loadVigilProto } from '../ingest/grpc/proto.js';
import { encodeAck } from '../ingest/grpc/wire.js';

const OK = encodeAck({ seq_id: '0', status: 'STATUS_CODE_OK', message: '', errors: [] });
const service = loadVigilProto().vigil.v1.Ingest.service;
const server = new grpc.Server();
server.addService(
  {
    ...service,
    Stream: {
      ...service.Stream,
      requestDeserialize: (bytes: Buffer) => bytes,
      responseSerialize: (bytes: Buffer) => bytes,
    },
  },
  {
    Stream(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      call.on('data', () => call.write(OK));
      call.on('end', () => call.end());
    },
    Detect(_call: unknown, callback: grpc.sendUnaryData<object>) {
      callback(null, { scores: [] });
    },
  },
);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`${port}\n`);
});
process.on('SIGTERM', () => server.forceShutdown());
