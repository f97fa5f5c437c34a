// Writes examples/pump.csv: a week of 5-minute readings from a synthetic water pump (seeded, so
// the file is the same on every run), with a few incidents for `npm start` to find:
// a current spike, a pressure level drop, a stuck flow sensor and a slow bearing-temperature drift.
import { writeFileSync } from 'node:fs';

let seed = 20261126;
function random() {
  // Park–Miller: enough for example data, and dependency-free for a one-off script.
  seed = (seed * 48271) % 2147483647;
  return seed / 2147483647;
}
function gaussian() {
  return Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
}

const start = Date.UTC(2026, 0, 5);
const step = 5 * 60_000;
const rows = ['timestamp,current_a,pressure_bar,flow_lpm,bearing_temp_c'];
let stuckFlow = 0;
for (let i = 0; i < 7 * 288; i++) {
  const day = (2 * Math.PI * i) / 288;
  const demand = 1 + 0.3 * Math.sin(day - Math.PI / 2);
  let current = 12 * demand + 0.3 * gaussian();
  let pressure = 4 + 0.8 * demand + 0.05 * gaussian();
  let flow = 150 * demand + 3 * gaussian();
  let temp = 45 + 5 * demand + 0.4 * gaussian();
  if (i === 600) current += 9;
  if (i >= 1000 && i < 1040) pressure -= 1.2;
  if (i === 1300) stuckFlow = flow;
  if (i >= 1300 && i < 1420) flow = stuckFlow;
  if (i >= 1700) temp += (i - 1700) * 0.06;
  const time = new Date(start + i * step).toISOString().replace('T', ' ').slice(0, 19);
  rows.push(
    [time, current.toFixed(3), pressure.toFixed(3), flow.toFixed(2), temp.toFixed(2)].join(','),
  );
}
writeFileSync(new URL('../examples/pump.csv', import.meta.url), rows.join('\n') + '\n');
