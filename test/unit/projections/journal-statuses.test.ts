/**
 * Proves how the journal projection ships each event's transfer statuses to PostgreSQL (one
 * text per event, split by `string_to_array(…, ',')`): every status name tigerbeetle-node has
 * survives the round trip, and anything that could not (a comma, an empty name) is refused
 * loudly rather than split into other statuses.
 */
import { CreateTransferStatus } from '../../../ledger/port';
import { joinStatuses } from '../../../projections/src/journal/projection';

const NAMES = Object.keys(CreateTransferStatus).filter((key) => Number.isNaN(Number(key)));

it('every status name joins and splits back to itself', () => {
  expect(NAMES.length).toBeGreaterThan(10);
  expect(joinStatuses(NAMES).split(',')).toEqual(NAMES);
  expect(joinStatuses(['created'])).toBe('created');
});

it.each([['a,b'], [''], ['Created'], ['x y']])('refuses %j', (status) => {
  expect(() => joinStatuses(['created', status])).toThrow(/transfer status/);
});
