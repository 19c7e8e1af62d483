/**
 * CPU pinning for the benches and the k6 runner (load/runner/pin.ts): which CPUs the load
 * generator and the services get from one setting, the refusals (a CPU that is not here, a list
 * that leaves the services nothing), the fall-back without taskset, and the command that pins.
 * With taskset present, one real pinned child reports the CPU it was given.
 */
import { execFileSync } from 'node:child_process';
import { parseCpuList, pinned, pinPlan, tasksetAvailable } from '../../../load/runner/pin';
import { UsageError } from '../../../load/runner/settings';

const yes = () => true;
const no = () => false;

describe.each([
  ['unset', undefined, 2, null, null, 'not pinned (no CPU list given)'],
  ['empty', ' ', 2, null, null, 'not pinned (no CPU list given)'],
  ['the last of two', '1', 2, [1], [0], 'load generator on CPU 1, services on CPU 0'],
  ['a range and a single', '0,2-3', 4, [0, 2, 3], [1], 'load generator on CPU 0,2,3, services'],
])('pinPlan: %s', (_name, text, cpus, load, services, describe) => {
  it('splits the CPUs between the load generator and the services', () => {
    const plan = pinPlan('LOAD_PIN_CPUS', text, cpus, yes);
    expect(plan.load).toEqual(load);
    expect(plan.services).toEqual(services);
    expect(plan.describe).toContain(describe);
  });
});

describe('pinPlan refusals and fall-back', () => {
  it.each([
    ['a CPU that is not here', '2', 2],
    ['every CPU', '0-1', 2],
    ['not a list', 'one', 2],
    ['a reversed range', '1-0', 2],
  ])('refuses %s, naming the setting', (_name, text, cpus) => {
    expect(() => pinPlan('LOAD_PIN_CPUS', text, cpus, yes)).toThrow(UsageError);
    expect(() => pinPlan('LOAD_PIN_CPUS', text, cpus, yes)).toThrow(/LOAD_PIN_CPUS/);
  });

  it('runs unpinned, and says so, where there is no taskset', () => {
    const plan = pinPlan('BENCH_PIN_CPUS', '1', 2, no);
    expect(plan).toMatchObject({ load: null, services: null });
    expect(plan.describe).toBe('not pinned (BENCH_PIN_CPUS set, no taskset here)');
  });

  it('parses lists with spaces and duplicates once, in order', () => {
    expect(parseCpuList('X', ' 3, 1-2 ,2', 4)).toEqual([1, 2, 3]);
  });
});

describe('pinned', () => {
  it('leaves the command as it is without CPUs', () => {
    expect(pinned(null, 'k6', ['run', 'x.js'])).toEqual({ command: 'k6', args: ['run', 'x.js'] });
  });

  it('runs the command under taskset -c on the CPUs', () => {
    expect(pinned([0, 2], 'k6', ['run'])).toEqual({
      command: 'taskset',
      args: ['-c', '0,2', 'k6', 'run'],
    });
  });

  (tasksetAvailable() ? it : it.skip)('gives a real child exactly those CPUs', () => {
    const run = pinned([0], 'grep', ['Cpus_allowed_list', '/proc/self/status']);
    const out = execFileSync(run.command, run.args, { encoding: 'utf8' });
    expect(out.trim()).toMatch(/Cpus_allowed_list:\s+0$/);
  });
});
