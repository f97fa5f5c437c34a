/**
 * Reading the packaging files (Dockerfile, deploy/compose, deploy/kubernetes) for their tests:
 * where they are, their YAML documents, the variables docs/operations.md documents, and what a
 * pinned image reference is.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The repository root: three levels up from src/deploy and dist/deploy alike. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEPLOY_DIR = path.join(REPO_ROOT, 'deploy');

/** Every YAML document of a file, failing on the first syntax error (with the file name). */
export async function yamlDocuments(file: string): Promise<unknown[]> {
  const docs = parseAllDocuments(await readFile(file, 'utf8'));
  const list = Array.isArray(docs) ? docs : [docs];
  return list
    .map((doc) => {
      if (doc.errors.length > 0) {
        throw new Error(`${path.relative(REPO_ROOT, file)}: ${doc.errors[0]?.message}`);
      }
      return doc.toJS() as unknown;
    })
    .filter((value) => value !== null && value !== undefined);
}

/** The `*.yaml`/`*.yml` files of a directory, recursively, sorted. */
export async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Upper-case names docs/operations.md writes in code spans: its environment variables. */
export async function documentedVariables(): Promise<Set<string>> {
  const text = await readFile(path.join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
  const names = new Set<string>();
  for (const span of text.matchAll(/`([^`\n]+)`/g)) {
    for (const m of (span[1] ?? '').matchAll(/\b[A-Z][A-Z0-9_]*[A-Z0-9]\b/g)) names.add(m[0]);
  }
  return names;
}

/**
 * An image reference with an explicit version tag (a digit in it) or a digest: not bare, not
 * `latest`, so a deployment does not change under its operator.
 */
export function isPinnedImage(image: string): boolean {
  if (image.includes('@sha256:')) return true;
  const slash = image.lastIndexOf('/');
  const colon = image.indexOf(':', slash + 1);
  if (colon < 0) return false;
  const tag = image.slice(colon + 1);
  return tag !== 'latest' && /\d/.test(tag);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The `vigil serve` flags of a container's args or a compose command (`serve --role=ingest
 * --nats=…`), as the CLI hands them to resolveSettings; refuses anything else, so a flag the
 * test does not understand fails it instead of being dropped.
 */
export function serveFlags(args: readonly string[]): { demo: boolean; [flag: string]: unknown } {
  const [command, ...rest] = args;
  if (command !== 'serve') throw new Error(`expected \`serve …\`, found ${JSON.stringify(args)}`);
  const flags: { demo: boolean; [flag: string]: unknown } = { demo: true };
  for (const arg of rest) {
    const m = /^--([a-z][a-z-]*)=(.+)$/.exec(arg);
    if (!m) throw new Error(`expected --flag=value, found ${JSON.stringify(arg)}`);
    flags[m[1]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = m[2];
  }
  return flags;
}
