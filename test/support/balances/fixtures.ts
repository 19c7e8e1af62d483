/**
 * Shared set-up for the balance reader tests: the real TigerBeetle cluster when configured
 * (test/support/ledger.ts), else the embedded engine in a temp dir; a PostgreSQL schema of the
 * file's own with the account tables (real AccountService, real metadata), accounts created
 * through the service, journals posted as transfers straight to the ledger, and readers on the
 * real local Redis (or any URL a test gives), each with its own key prefix and channel per test
 * file so runs never see each other's cache. The cluster outlives runs and is shared by every
 * test file, so account ids carry `world.run` and transfer ids are random (never a fixed id that
 * a previous run already created).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { AssetRegistry } from '../../../bridge/src/accounts/registry';
import { AccountService } from '../../../bridge/src/accounts/service';
import {
  BalanceReader,
  type BalanceCacheSettings,
  type BalanceReaderOptions,
} from '../../../bridge/src/balances/reader';
import { balanceChange } from '../../../bridge/src/balances/token';
import { CreateTransferStatus, type Ledger } from '../../../ledger/port';
import { newTransfer } from '../../../ledger/records';
import { migrateUp } from '../../../core/postgres/migrate';
import { stackSettings } from '../infra/settings';
import { createTestSchema, type TestSchema } from '../store/schema';
import { openTestLedger } from '../ledger';

export interface World {
  ledger: Ledger;
  accounts: AccountService;
  schema: TestSchema;
  run: string;
  keyPrefix: string;
  channel: string;
  dispose(): Promise<void>;
}

export async function openWorld(name: string): Promise<World> {
  const { ledger, dispose } = await openTestLedger(`balances-${name}`);
  const schema = await createTestSchema(`bal_${name}`);
  await migrateUp(schema.pool);
  const registry = await AssetRegistry.load(schema.pool);
  const accounts = new AccountService({ db: schema.pool, ledger, registry });
  const run = randomUUID().slice(0, 8);
  return {
    ledger,
    accounts,
    schema,
    run,
    keyPrefix: `test:bal:${run}:`,
    channel: `test:bal:${run}:invalidations`,
    dispose: async () => {
      await dispose();
      await schema.drop();
    },
  };
}

/**
 * Creates a USD account (credit-normal: liability, or `world`-type for a source of money that may
 * be overdrawn) and answers its ledger id.
 */
export async function createAccount(
  world: World,
  accountId: string,
  accountType: 'liability' | 'world' = 'liability',
): Promise<bigint> {
  const { account } = await world.accounts.createAccount({
    accountId,
    name: accountId,
    holderId: 'h',
    accountType,
    asset: 'USD',
  });
  return account.ledgerId;
}

/**
 * Transfer ids: the time in the high bits (TigerBeetle's LSM likes ids in rough time order), then
 * 64 random bits, then a counter. Unique across runs and across files running at once on the
 * cluster; a time-only seed collides when two files start in the same millisecond.
 */
let transferSeq =
  (BigInt(Date.now()) << 80n) | (BigInt(`0x${randomBytes(8).toString('hex')}`) << 16n);

/**
 * Moves `amount` from one account to another in the ledger and answers what the posting
 * instance would hand to `onPosted`: the touched ledger ids and the transfer's timestamp.
 */
export async function post(
  world: World,
  debit: bigint,
  credit: bigint,
  amount: bigint,
): Promise<{ ledgerIds: bigint[]; ledgerTimestampNs: bigint }> {
  const transfer = newTransfer({
    id: (transferSeq += 1n),
    debit_account_id: debit,
    credit_account_id: credit,
    amount,
    ledger: 1,
    code: 1,
  });
  const [result] = await world.ledger.createTransfers([transfer]);
  if (result!.status !== CreateTransferStatus.created) {
    throw new Error(`transfer not created: ${result!.status}`);
  }
  const change = balanceChange([{ ...transfer, timestamp: result!.timestamp }]);
  return { ledgerIds: change.ledgerIds, ledgerTimestampNs: change.ledgerTimestampNs };
}

export function newReader(
  world: World,
  overrides: Partial<BalanceReaderOptions> & { settings?: Partial<BalanceCacheSettings> } = {},
): BalanceReader {
  return new BalanceReader({
    ledger: world.ledger,
    accounts: world.accounts,
    redisUrl: stackSettings.redisUrl,
    keyPrefix: world.keyPrefix,
    channel: world.channel,
    ...overrides,
  });
}

/** Polls `check` every 2 ms until it holds; fails after `timeoutMs`. Answers the ms it took. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000) {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`not true within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
