/**
 * The disposable-database reset refuses, before connecting, any database that is not a test or
 * load database: the service's own data can never be dropped by a test harness or a load run.
 */
import { resetDisposableDatabase } from '../../bridge/src/store/reset';

it.each(['ledger', 'ledger_testing', 'production', 'ledger_load_old'])('refuses %s', async (db) => {
  await expect(
    // Port 1: were the guard to let it through, the connection itself would fail differently.
    resetDisposableDatabase(`postgres://ledger:ledger@127.0.0.1:1/${db}`),
  ).rejects.toThrow(`refusing to empty database "${db}"`);
});
