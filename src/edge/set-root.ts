/** Sets the edge tree's root before anything reads it (see main.ts and root.ts). */
import path from 'node:path';
import sea from 'node:sea';
import { extractAssets, extractBase } from './root.js';

function findRoot(): string {
  if (sea.isSea()) return extractAssets(sea, extractBase());
  // A plain bundle (`node vigil.cjs`): the staged tree beside it.
  return path.join(path.dirname(path.resolve(process.argv[1] ?? '.')), 'root');
}

globalThis.__vigilEdgeRoot ??= findRoot();
