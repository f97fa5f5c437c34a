// `npm run build:edge`: Vigil as one executable file for gateways (docs/deploy.md, "Edge"), a
// Node single executable application. Needs `npm run build` first (it bundles dist/).
//
//   1. esbuild bundles dist/edge/main.js (the command line) into one CommonJS file, and the
//      scoring worker into another. Every `import.meta.url` is rewritten to the module's place in
//      the file tree the executable extracts on first start (src/edge/root.ts); `snappy` and
//      `onnxruntime-node` are mapped to src/edge/ (native modules cannot be bundled).
//   2. The files Vigil reads at run time are staged in build/edge/root/, as in the repository.
//   3. Node 24 (the `node` dev dependency, or VIGIL_EDGE_NODE) makes the preparation blob with
//      the bundle as main script and the staged files as assets; postject injects it into a copy
//      of that Node binary (symbols stripped when `strip` is there): build/edge/vigil.
//
// The executable runs on the machine's architecture (linux-x64 here); the blob must be made by
// the very Node binary it is injected into.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const esbuild = require('esbuild');
const { inject } = require('postject');

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// --bundle-only: stop after steps 1–2 (`node <out>/vigil.cjs` runs it; the tests use it).
// --out <dir>: instead of build/edge.
const { values: options } = parseArgs({
  options: { 'bundle-only': { type: 'boolean', default: false }, out: { type: 'string' } },
});
const out = path.resolve(options.out ?? path.join(repo, 'build', 'edge'));
const stage = path.join(out, 'root');
const node = process.env.VIGIL_EDGE_NODE || path.join(repo, 'node_modules', 'node', 'bin', 'node');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function fail(message) {
  console.error(`build:edge: ${message}`);
  process.exit(1);
}

if (!existsSync(path.join(repo, 'dist', 'edge', 'main.js')))
  fail('dist/ is missing: run npm run build');
if (!options['bundle-only'] && !existsSync(node))
  fail(`no Node binary at ${node}: run npm ci (or set VIGIL_EDGE_NODE)`);

/** A module's path in the tree: node_modules/… wherever node_modules really is, else repo-relative. */
function treePath(file) {
  const marker = `${path.sep}node_modules${path.sep}`;
  const at = file.indexOf(marker);
  if (at >= 0)
    return `node_modules/${file
      .slice(at + marker.length)
      .split(path.sep)
      .join('/')}`;
  return path.relative(repo, file).split(path.sep).join('/');
}

/**
 * The command line ends in `try { await program.parseAsync(); } catch …`; CommonJS has no
 * top-level await, so that last statement runs in an async function instead.
 */
function withoutTopLevelAwait(source) {
  const start = source.indexOf('try {\n    await program.parseAsync();');
  const end = source.lastIndexOf('//# sourceMappingURL=');
  if (start < 0) fail('dist/cli/main.js no longer ends in `try { await program.parseAsync() }`');
  const tail = end > start ? source.slice(start, end) : source.slice(start);
  return `${source.slice(0, start)}void (async () => {\n${tail}})();\n`;
}

const edgePlugin = {
  name: 'vigil-edge',
  setup(build) {
    build.onResolve({ filter: /^snappy$/ }, () => ({
      path: path.join(repo, 'dist/edge/snappy.js'),
    }));
    build.onResolve({ filter: /^onnxruntime-node$/ }, () => ({
      path: path.join(repo, 'dist/edge/onnxruntime.js'),
    }));
    build.onLoad({ filter: /\.(js|mjs|cjs)$/ }, (args) => {
      let source = readFileSync(args.path, 'utf8');
      const rel = treePath(args.path);
      if (rel === 'dist/cli/main.js') source = withoutTopLevelAwait(source);
      source = source.replaceAll('import.meta.url', `__vigilEdgeUrl(${JSON.stringify(rel)})`);
      // CommonJS packages reading files beside themselves (swagger-ui's static/, grpc-js' protos).
      if (rel.startsWith('node_modules/')) {
        source = source
          .replace(/\b__dirname\b/g, `__vigilEdgePath(${JSON.stringify(path.posix.dirname(rel))})`)
          .replace(/\b__filename\b/g, `__vigilEdgePath(${JSON.stringify(rel)})`);
      }
      return { contents: source, loader: 'js' };
    });
  },
};

// The rewritten import.meta.url: a file URL in the extracted tree (globalThis.__vigilEdgeRoot is
// set by src/edge/set-root.ts in the command line, and from the worker's own place in a worker).
const banner = (rootFallback) =>
  [
    rootFallback,
    'var __vigilEdgePath = (rel) => require("node:path").join(globalThis.__vigilEdgeRoot, rel);',
    'var __vigilEdgeUrl = (rel) => require("node:url").pathToFileURL(__vigilEdgePath(rel)).href;',
  ].join('\n');

rmSync(out, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  plugins: [edgePlugin],
  // pg's optional native driver: never asked for by Vigil.
  external: ['pg-native'],
  logLevel: 'warning',
  legalComments: 'none',
};
await esbuild.build({
  ...common,
  entryPoints: [path.join(repo, 'dist/edge/main.js')],
  outfile: path.join(out, 'vigil.cjs'),
  banner: { js: banner('') },
});
await esbuild.build({
  ...common,
  entryPoints: [path.join(repo, 'dist/engine/scoring/scoring-worker.js')],
  outfile: path.join(stage, 'dist/engine/scoring/scoring-worker.js'),
  banner: {
    js: banner(
      'globalThis.__vigilEdgeRoot ??= require("node:path").resolve(__dirname, "../../..");',
    ),
  },
});

// What Vigil reads beside its code, by tree path.
const nm = (rel) => path.join(repo, 'node_modules', rel);
const snappyPlatform = readdirSync(nm('@napi-rs')).filter((d) => d.startsWith('snappy-'));
const copies = [
  'proto',
  'strategies',
  'web/public',
  'dist/web',
  'node_modules/uplot/package.json',
  'node_modules/uplot/dist',
  'node_modules/diff/package.json',
  'node_modules/diff/libesm',
  'node_modules/@fastify/swagger/package.json',
  'node_modules/@fastify/swagger-ui/static',
  'node_modules/@electric-sql/pglite/package.json',
  'node_modules/@electric-sql/pglite/dist/index.cjs', // PGlite's version for the template cache
  'node_modules/@electric-sql/pglite/dist/pglite.wasm',
  'node_modules/@electric-sql/pglite/dist/pglite.data',
  'node_modules/@electric-sql/pglite/dist/initdb.wasm',
  'node_modules/snappy',
  ...snappyPlatform.map((d) => `node_modules/@napi-rs/${d}`),
];
for (const rel of copies) {
  const from = path.join(repo, rel);
  if (!existsSync(from)) fail(`${rel} is missing`);
  cpSync(from, path.join(stage, rel), {
    recursive: true,
    dereference: true,
    filter: (f) => !f.endsWith('.map') && !f.endsWith('.d.ts') && !f.endsWith('.test.js'),
  });
}
// The tree's own package.json: the worker bundle is CommonJS, and createRequire resolves from it.
writeFileSync(path.join(stage, 'package.json'), '{ "type": "commonjs", "private": true }\n');

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(full) : [full];
  });
}
const files = listFiles(stage)
  .map((f) => path.relative(stage, f).split(path.sep).join('/'))
  .sort();
const hash = createHash('sha256');
hash.update(readFileSync(path.join(out, 'vigil.cjs')));
for (const f of files) hash.update(f).update(readFileSync(path.join(stage, f)));
const manifest = { id: hash.digest('hex').slice(0, 16), files };
writeFileSync(path.join(out, 'vigil-edge-manifest.json'), JSON.stringify(manifest));

if (options['bundle-only']) {
  console.log(`build:edge: ${path.join(out, 'vigil.cjs')} and its tree ${stage} (no executable)`);
  process.exit(0);
}

const assets = { 'vigil-edge-manifest.json': path.join(out, 'vigil-edge-manifest.json') };
for (const f of files) assets[f] = path.join(stage, f);
const seaConfig = {
  main: path.join(out, 'vigil.cjs'),
  output: path.join(out, 'sea-prep.blob'),
  disableExperimentalSEAWarning: true,
  useCodeCache: false,
  // As `npm start`, the Dockerfile and the shebang of dist/cli/main.js (see there).
  execArgv: ['--max-semi-space-size=32'],
  assets,
};
writeFileSync(path.join(out, 'sea-config.json'), JSON.stringify(seaConfig, null, 2));
execFileSync(node, ['--experimental-sea-config', path.join(out, 'sea-config.json')], {
  stdio: 'inherit',
});

const exe = path.join(out, 'vigil');
copyFileSync(node, exe);
chmodSync(exe, 0o755);
try {
  execFileSync('strip', [exe], { stdio: 'ignore' });
} catch {
  console.error('build:edge: strip not found or failed: the executable keeps its symbols');
}
await inject(exe, 'NODE_SEA_BLOB', readFileSync(seaConfig.output), { sentinelFuse: SEA_FUSE });

// The executable must at least start and list the built-in strategies (read from the tree).
execFileSync(exe, ['strategies'], { stdio: 'ignore' });
const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
console.log(
  `build:edge: ${path.relative(repo, exe)} ${mb(statSync(exe).size)} (` +
    `${files.length} files, ${mb(statSync(seaConfig.output).size)} of bundle and assets)`,
);
