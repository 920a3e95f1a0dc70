// Bundles the compiled CLI (dist/cli/bin.js) into dist/bundle/: the installed `sluice`
// command. Why: Node 20 spends most of a short command's start resolving, reading and
// compiling ~300 ES modules one by one (our own and zod's, commander's, croner's); one
// bundle split at the CLI's lazy imports loads the few files a command needs. The library
// entry (`import … from 'sluice'`, dist/index.js) is not bundled: users get plain modules.
//
// Kept external: packages that find files next to themselves at run time (better-sqlite3's
// native binding, pino's transport workers, tsx's loader, @fastify/swagger-ui's static files,
// fastify and its plugins), and pg with its optional native driver.
import { rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

/** zod's classic entry re-exports every locale (`z.locales`, ~60 of them): about two thirds of
 * what its bundle would compile at each start. Sluice's messages are English (zod's default,
 * which zod imports directly, not through this index) and it never calls `z.config(locale)`, so
 * the bundle's copy of the index offers English only. A user's own `zod` is untouched. */
const englishOnlyZodLocales = {
  name: 'english-only-zod-locales',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
      contents: 'export { default as en } from "./en.js";',
    }));
  },
};

// Chunk names are content hashes: clear the last build's so none is left behind.
rmSync('dist/bundle', { recursive: true, force: true });

const result = await build({
  entryPoints: { sluice: 'dist/cli/bin.js' },
  outdir: 'dist/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  // Identifiers are not minified, so stack traces read as the sources do; no `keepNames`:
  // nothing here reads a function's or class's `.name`, and its wrappers cost start-up time.
  external: ['better-sqlite3', 'pg', 'pg-native', 'pg-copy-streams', 'pino', 'pino-pretty', 'tsx', 'fastify', '@fastify/*', 'prom-client'],
  // Bundled CommonJS (commander, yaml) may call require(): give ESM chunks one.
  banner: { js: "import { createRequire as __sluiceRequire } from 'node:module'; const require = __sluiceRequire(import.meta.url);" },
  plugins: [englishOnlyZodLocales],
  metafile: Boolean(process.env.SLUICE_BUNDLE_META),
  logLevel: 'warning',
});
if (process.env.SLUICE_BUNDLE_META) writeFileSync(process.env.SLUICE_BUNDLE_META, JSON.stringify(result.metafile));
