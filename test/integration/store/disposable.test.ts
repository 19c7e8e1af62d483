/**
 * Disposable databases: pointing the settings at one, and emptying one, both refuse (the reset
 * before connecting) any database that is not a test or load database: the service's own data can
 * never be dropped by a test harness or a load run.
 */
import { disposableDatabaseEnv, resetDisposableDatabase } from '../../../core/postgres/disposable';

it.each(['ledger', 'ledger_testing', 'production', 'ledger_load_old'])('refuses %s', async (db) => {
  await expect(
    // Port 1: were the guard to let it through, the connection itself would fail differently.
    resetDisposableDatabase(`postgres://ledger:ledger@127.0.0.1:1/${db}`),
  ).rejects.toThrow(`refusing to empty database "${db}"`);
});

it('points every DATABASE_* setting at a disposable database, and refuses another', () => {
  const config = {
    DATABASE_URL: 'postgres://u:p@127.0.0.1:56432/ledger',
    DATABASE_DIRECT_URL: 'postgres://u:p@127.0.0.1:55432/ledger',
    DATABASE_REPLICA_URLS: ['postgres://u:p@127.0.0.1:55433/ledger', 'postgres://u:p@h:5/ledger'],
  };
  expect(disposableDatabaseEnv(config, 'ledger_load')).toEqual({
    DATABASE_URL: 'postgres://u:p@127.0.0.1:56432/ledger_load',
    DATABASE_DIRECT_URL: 'postgres://u:p@127.0.0.1:55432/ledger_load',
    DATABASE_REPLICA_URLS:
      'postgres://u:p@127.0.0.1:55433/ledger_load,postgres://u:p@h:5/ledger_load',
  });
  expect(() => disposableDatabaseEnv(config, 'ledger')).toThrow('refusing to empty database');
});
