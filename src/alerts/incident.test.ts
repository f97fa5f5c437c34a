import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { feedItem } from './event-fixtures.js';
import { IncidentGrouper, incidentMetrics } from './incident.js';

const T = Date.UTC(2026, 0, 1, 12);
const MIN = 60_000;
const temp = { device: 'pump-7', metric: 'temperature', start: T };
const pressure = { device: 'pump-7', metric: 'pressure', start: T + 2 * MIN };
const other = { device: 'pump-8', metric: 'temperature', start: T + MIN };

describe('IncidentGrouper', () => {
  it('groups overlapping events of one device into one incident and resolves it with the last', () => {
    const g = new IncidentGrouper(5 * MIN);
    const a = g.apply(feedItem(temp, 'open', T + 10_000));
    assert.equal(a.type, 'open');
    assert.equal(a.incident.id, `pump-7|${T}`);
    const b = g.apply(feedItem(pressure, 'open', T + 2 * MIN));
    assert.equal(b.type, 'update');
    assert.equal(b.incident.id, a.incident.id);
    assert.deepEqual(incidentMetrics(b.incident), ['pressure', 'temperature']);
    const c = g.apply(feedItem(other, 'open', T + MIN));
    assert.equal(c.type, 'open', 'another device is another incident');
    assert.notEqual(c.incident.id, a.incident.id);

    const up = g.apply({ ...feedItem({ ...pressure, level: 'severe' }, 'update', T + 3 * MIN) });
    assert.equal(up.type, 'update');
    assert.equal(up.incident.level, 'severe', 'the incident level is the highest member level');

    const closeTemp = g.apply(feedItem(temp, 'close', T + 4 * MIN, T + 3 * MIN));
    assert.equal(closeTemp.type, 'update', 'still firing: pressure is open');
    assert.equal(closeTemp.incident.status, 'firing');
    const closeP = g.apply(feedItem(pressure, 'close', T + 6 * MIN, T + 5 * MIN));
    assert.equal(closeP.type, 'resolve');
    assert.equal(closeP.incident.status, 'resolved');
    assert.equal(closeP.incident.end, T + 5 * MIN);
    assert.equal(closeP.incident.first, T);
    assert.equal(closeP.incident.last, T + 5 * MIN);
    assert.equal(closeP.incident.members.length, 2);
  });

  it('a new event within the window after the resolve reopens the incident; later, a new one', () => {
    const g = new IncidentGrouper(5 * MIN);
    g.apply(feedItem(temp, 'open', T));
    const resolved = g.apply(feedItem(temp, 'close', T + 2 * MIN, T + MIN));
    assert.equal(resolved.type, 'resolve');
    const soon = { device: 'pump-7', metric: 'current', start: T + 5 * MIN };
    const reopened = g.apply(feedItem(soon, 'open', T + 5 * MIN));
    assert.equal(reopened.type, 'reopen', '4 min after the last flagged point: same incident');
    assert.equal(reopened.incident.id, resolved.incident.id);
    g.apply(feedItem(soon, 'close', T + 7 * MIN, T + 6 * MIN));
    const late = { device: 'pump-7', metric: 'current', start: T + 12 * MIN };
    const fresh = g.apply(feedItem(late, 'open', T + 12 * MIN));
    assert.equal(fresh.type, 'open', '6 min after the last flagged point: a new incident');
    assert.equal(fresh.incident.id, `pump-7|${T + 12 * MIN}`);
    assert.equal(fresh.incident.members.length, 1);
  });

  it('an event reopening after its incident resolved brings the incident back', () => {
    const g = new IncidentGrouper(MIN);
    g.apply(feedItem(temp, 'open', T));
    g.apply(feedItem(temp, 'close', T + MIN, T));
    const back = g.apply(feedItem(temp, 'reopen', T + 30 * MIN));
    assert.equal(back.type, 'reopen');
    assert.equal(back.incident.id, `pump-7|${T}`);
    assert.equal(back.incident.status, 'firing');
  });

  it('a window of 0 groups only events that overlap', () => {
    const g = new IncidentGrouper(0);
    g.apply(feedItem(temp, 'open', T));
    g.apply(feedItem(temp, 'close', T + MIN, T));
    const next = g.apply(feedItem(pressure, 'open', T + 2 * MIN));
    assert.equal(next.type, 'open');
    assert.throws(() => new IncidentGrouper(-1), /non-negative/);
  });

  it('is deterministic: the same feed gives the same incidents', () => {
    const feed = [
      feedItem(temp, 'open', T),
      feedItem(pressure, 'open', T + 2 * MIN),
      feedItem(temp, 'close', T + 3 * MIN, T + 2 * MIN),
      feedItem(pressure, 'close', T + 4 * MIN, T + 3 * MIN),
    ];
    const run = () => {
      const g = new IncidentGrouper(5 * MIN);
      return feed.map((item) => g.apply(item));
    };
    assert.deepEqual(run(), run());
  });
});
