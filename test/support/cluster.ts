/**
 * Tests that only make sense on a real TigerBeetle cluster (the stack's, from TB_ADDRESSES): the
 * replicas' addresses, and a `describe` that runs them when a cluster is there, skips them visibly
 * when not, and fails in CI, where a missing cluster is a broken set-up.
 */
export function clusterAddresses(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.TB_ADDRESSES ?? '')
    .split(',')
    .map((address) => address.trim())
    .filter((address) => address !== '');
}

export function describeOnCluster(what: string): jest.Describe {
  if (clusterAddresses().length > 0) return describe;
  const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
  if (ci) throw new Error(`CI runs ${what} on a real cluster, and none runs`);
  console.warn(`${what}: skipped — set TB_ADDRESSES to run it`);
  return describe.skip;
}
