/**
 * Jest set-up, before every test file: the tests run on the local stack's real TigerBeetle cluster
 * (`infra/stack.sh up` starts it when TB_BIN or PATH has a server, and writes its settings to
 * .run/tigerbeetle/cluster.env). TB_ADDRESSES given by the caller wins; set but empty, it runs the
 * tests on the embedded engine. Tests that are about the engine open it themselves. CI always has a
 * server: there, no cluster is a failure.
 */
import { ledgerEnv } from '../../infra/tigerbeetle/local';

Object.assign(process.env, ledgerEnv(process.env));

if (process.env.TB_ADDRESSES === undefined || process.env.TB_ADDRESSES === '') {
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
    throw new Error(
      'CI runs every test on a real TigerBeetle cluster, and none is running: ' +
        'set TB_BIN before `npm test` (.ci/run does) so that infra/stack.sh starts one',
    );
  }
}
