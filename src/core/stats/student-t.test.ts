import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  esdCriticalValue,
  incompleteBeta,
  logGamma,
  studentTCdf,
  studentTUpperQuantile,
} from './student-t.js';
import { assertClose } from './test-data.js';

test('logGamma matches factorials and Γ(1/2) = √π', () => {
  let fact = 1;
  for (let n = 1; n < 30; n++) {
    assertClose(logGamma(n + 1), Math.log((fact *= n)), 1e-12, `lnΓ(${n + 1})`);
  }
  assertClose(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-12, 'lnΓ(1/2)');
});

test('incomplete beta matches closed forms', () => {
  for (const x of [0.01, 0.2, 0.5, 0.77, 0.999]) {
    // I_x(a, 1) = x^a and I_x(1, b) = 1 - (1 - x)^b.
    assertClose(incompleteBeta(x, 3.5, 1), x ** 3.5, 1e-12, `I_${x}(3.5, 1)`);
    assertClose(incompleteBeta(x, 1, 40), 1 - (1 - x) ** 40, 1e-12, `I_${x}(1, 40)`);
  }
});

test('t distribution matches closed forms and table values', () => {
  // df = 1 is the Cauchy distribution; df = 2 has CDF 1/2 + t / (2 sqrt(2 + t^2)).
  for (const t of [-3, -0.5, 0, 0.7, 4, 60]) {
    assertClose(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-12, `Cauchy at ${t}`);
    assertClose(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-12, `df2 at ${t}`);
  }
  // Printed table values (two-sided 5% and 1%); 4 decimals is what the tables give.
  assertClose(studentTUpperQuantile(0.025, 10), 2.2281, 1e-4, 't(0.975, 10)');
  assertClose(studentTUpperQuantile(0.005, 30), 2.75, 1e-4, 't(0.995, 30)');
  assertClose(studentTUpperQuantile(0.025, 1), 12.7062, 1e-4, 't(0.975, 1)');
  assertClose(studentTUpperQuantile(0.975, 5), -2.5706, 1e-4, 't(0.025, 5)');
  // Large df tends to the normal: z(1 - 1e-6) = 4.753424.
  assertClose(studentTUpperQuantile(1e-6, 1e7), 4.753424, 1e-5, 'normal limit');
  for (const [tail, df] of [
    [1e-7, 3],
    [0.3, 17],
    [2e-5, 2500],
  ] as const) {
    const t = studentTUpperQuantile(tail, df);
    assertClose(1 - studentTCdf(t, df), tail, 1e-8, `round trip ${tail}, ${df}`);
  }
});

test('ESD critical values match the ones Rosner (1983) tabulates', () => {
  // n = 54, alpha = 0.05: the first lambdas of Rosner's worked example.
  assertClose(esdCriticalValue(54, 1, 0.05), 3.159, 1e-3, 'lambda_1');
  assertClose(esdCriticalValue(54, 2, 0.05), 3.151, 1e-3, 'lambda_2');
  assertClose(esdCriticalValue(54, 10, 0.05), 3.085, 1e-3, 'lambda_10');
  assert.ok(esdCriticalValue(1000, 1, 0.05) > esdCriticalValue(100, 1, 0.05));
  assert.equal(esdCriticalValue(3, 2, 0.05), Infinity);
});
