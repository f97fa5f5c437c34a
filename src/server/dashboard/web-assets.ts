/**
 * The dashboard's files: the page and its stylesheet (web/public), the compiled front-end
 * modules (dist/web, built by `npm run build`/`prepare`) and the two browser libraries it uses,
 * served straight from node_modules (uPlot's ES module and CSS, jsdiff's ES module build).
 * Paths are resolved from this file's place in dist/, so `vigil serve` works from any directory.
 * The files are public (route scope `public`): a browser without a session must get the page to
 * show its sign-in; only the API needs a token (docs/dashboard.md, Signing in).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { VigilError } from '../../errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Where each URL prefix is served from. */
export function webRoots(): { prefix: string; root: string }[] {
  const packageRoot = path.resolve(here, '../../..');
  return [
    { prefix: '/', root: path.join(packageRoot, 'web/public') },
    { prefix: '/js/', root: path.join(packageRoot, 'dist/web') },
    {
      prefix: '/vendor/uplot/',
      root: path.join(path.dirname(require.resolve('uplot/package.json')), 'dist'),
    },
    {
      prefix: '/vendor/diff/',
      root: path.join(path.dirname(require.resolve('diff/package.json')), 'libesm'),
    },
  ];
}

export async function registerWebAssets(app: FastifyInstance): Promise<void> {
  const roots = webRoots();
  for (const { root } of roots) {
    if (!existsSync(root)) {
      throw new VigilError(
        'VIGIL_ERR_CONFIG',
        `dashboard files missing at ${root}: run npm run build (or npm ci)`,
      );
    }
  }
  // An encapsulated scope, so the hook marks these file routes public and no others.
  await app.register(async (files) => {
    files.addHook('onRoute', (route) => {
      route.config = { ...route.config, scope: 'public' };
    });
    await registerRoots(files, roots);
  });
}

async function registerRoots(
  app: FastifyInstance,
  roots: readonly { prefix: string; root: string }[],
): Promise<void> {
  let first = true;
  for (const { prefix, root } of roots) {
    await app.register(fastifyStatic, {
      root,
      prefix,
      // Only the first registration may add reply.sendFile.
      decorateReply: first,
      index: prefix === '/' ? ['index.html'] : false,
      // Small files, changed by upgrades: revalidate rather than cache blindly.
      cacheControl: true,
      maxAge: 0,
    });
    first = false;
  }
}
