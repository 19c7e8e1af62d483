/**
 * The load runner's settings: unset gives the default, a valid value is read, and anything else is
 * a UsageError naming the variable and the value (exit status 2 before anything starts).
 */
import { envChoice, envInt, envInts, UsageError } from '../../../load/runner/settings';

const NAME = 'LOAD_SETTINGS_TEST_VALUE';
afterEach(() => {
  delete process.env[NAME];
});

function withValue(value: string): void {
  process.env[NAME] = value;
}

it('reads integers within bounds, and refuses the rest', () => {
  expect(envInt(NAME, 7, 1, 10)).toBe(7);
  withValue('10');
  expect(envInt(NAME, 7, 1, 10)).toBe(10);
  for (const bad of ['11', '0', '-1', '2.5', 'abc', '1e3', ' 5']) {
    withValue(bad);
    expect(() => envInt(NAME, 7, 1, 10)).toThrow(UsageError);
    expect(() => envInt(NAME, 7, 1, 10)).toThrow(`${NAME} must be an integer from 1 to 10`);
  }
});

it('reads lists of integers, and refuses a list with one bad item', () => {
  expect(envInts(NAME, [1, 2], 1, 100)).toEqual([1, 2]);
  withValue('5, 50,100');
  expect(envInts(NAME, [1, 2], 1, 100)).toEqual([5, 50, 100]);
  for (const bad of ['5,x', '5,,6', '101', '0']) {
    withValue(bad);
    expect(() => envInts(NAME, [1, 2], 1, 100)).toThrow(`${NAME} must list integers`);
  }
});

it('reads one of the choices, the first by default', () => {
  expect(envChoice(NAME, ['during', 'after'] as const)).toBe('during');
  withValue('after');
  expect(envChoice(NAME, ['during', 'after'] as const)).toBe('after');
  withValue('sometimes');
  expect(() => envChoice(NAME, ['during', 'after'] as const)).toThrow(
    `${NAME} is one of during, after, got "sometimes"`,
  );
});
