/**
 * Proves the embedded engine answers as TigerBeetle 0.17 does: the whole Ledger conformance
 * suite (every status, order of checks, chains, two-phase, queries, bad input, a seeded property
 * test) runs against an engine opened on a fresh temporary data directory, removed afterwards.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openEmbeddedLedger } from '../../../ledger/engine';
import { defineLedgerConformance } from '../../support/conformance/suite';

const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-conformance-'));

afterAll(() => {
  fs.rmSync(dataRoot, { recursive: true, force: true });
});

defineLedgerConformance('embedded engine', () =>
  openEmbeddedLedger({ dataDir: path.join(dataRoot, 'engine') }),
);
