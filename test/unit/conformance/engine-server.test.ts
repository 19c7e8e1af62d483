/**
 * Proves the embedded engine served over TCP answers exactly as the in-process engine does: the
 * whole Ledger conformance suite runs unchanged through the engine client
 * (ledger/engine/client.ts) against an engine server (ledger/engine/server.ts)
 * on a fresh temporary data directory and a free port, so the protocol's encodings of every
 * request, result, record and error are exercised.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openEngineClient } from '../../../ledger/engine/client';
import { randomEngineSecret } from '../../../ledger/engine/handshake';
import { type EngineServer, startEngineServer } from '../../../ledger/engine/server';
import { defineLedgerConformance } from '../../support/conformance/suite';

const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-conformance-tcp-'));
const secret = randomEngineSecret();
let server: EngineServer | undefined;

afterAll(async () => {
  await server?.close();
  fs.rmSync(dataRoot, { recursive: true, force: true });
});

defineLedgerConformance('embedded engine over TCP', async () => {
  server = await startEngineServer({ dataDir: path.join(dataRoot, 'engine'), port: 0, secret });
  const { host, port } = server.address;
  return openEngineClient({ address: `${host}:${port}`, secret, requestTimeoutMs: 30_000 });
});
