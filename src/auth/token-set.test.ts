import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allows } from './scope.js';
import { hashSecret, TokenSet } from './token-set.js';

test('a token set finds the principal of a known secret and nothing for others', () => {
  const tokens = new TokenSet([
    { name: 'prom', sha256: hashSecret('s3cret-ingest'), scopes: ['ingest'] },
    { name: 'ops', sha256: hashSecret('s3cret-admin').toUpperCase(), scopes: ['admin'] },
  ]);
  assert.equal(tokens.enabled, true);
  const prom = tokens.authenticate('s3cret-ingest');
  assert.equal(prom?.name, 'prom');
  assert.equal(allows(prom!, 'ingest'), true);
  assert.equal(allows(prom!, 'read'), false);
  const ops = tokens.authenticate('s3cret-admin');
  assert.equal(allows(ops!, 'read'), true, 'admin holds every scope');
  assert.equal(tokens.authenticate('s3cret-ingest '), undefined);
  assert.equal(tokens.authenticate(''), undefined);
  assert.equal(new TokenSet([]).enabled, false);
});
