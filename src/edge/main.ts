/**
 * The edge build's entry point (scripts/build-edge.mjs bundles it): find or extract the file
 * tree first (root.ts), then run the ordinary command line. ES module order guarantees this
 * module is evaluated before any module of the command line reads `import.meta.url`.
 */
import './set-root.js';
import '../cli/main.js';
