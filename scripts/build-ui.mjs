// Bundles the live dashboard (src/ui/mount.ts: the React components, React, Ink, Yoga and their dependencies)
// into ONE tree-shaken, production-mode ESM file, dist/ui/mount.js, replacing tsc's per-module output of that
// file. Why: loading React, Ink and Yoga as ~200 separate modules (es-toolkit/compat alone is hundreds of small
// files, of which Ink uses one `throttle`; React and react-reconciler are CommonJS, which Node scans with its
// CJS lexer) cost ~1 s of CPU per dashboard run; one bundle costs a fraction (docs/dashboard.md, CPU cost).
// The controller's own modules outside src/ui (run-state, hostrange, ...) stay external, so the bundle shares
// the instances dist/ui/index.js has already loaded instead of carrying a second copy.
//   node scripts/build-ui.mjs [--out FILE] [--analyze]   (run by `npm run build` and `prepare`, after tsc)
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const uiDir = join(root, 'src', 'ui');
const entry = join(uiDir, 'mount.ts');
// --out FILE: where the bundle goes (default dist/ui/mount.js). It must sit at ui/mount.js of a compiled mirror of
// src/ (the bench compiles one to node_modules/.cache), because the controller's modules are imported relatively.
const outAt = process.argv.indexOf('--out');
const outfile = outAt > 0 ? resolve(process.argv[outAt + 1]) : join(root, 'dist', 'ui', 'mount.js');

/** Relative imports that leave src/ui become imports of the compiled module next to the bundle in dist/. */
const controllerModulesExternal = {
  name: 'controller-modules-external',
  setup(b) {
    // Ink loads its devtools (react-devtools-core, ws) only when DEV=true. Left as the external package, that
    // import fails as "not installed" and Ink says how to install it, as it does unbundled; the bundle stays lean.
    b.onResolve({ filter: /^\.\/devtools\.js$/ }, (args) =>
      args.importer.includes(`${sep}node_modules${sep}ink${sep}`) ? { path: 'react-devtools-core', external: true } : undefined,
    );
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (!args.importer.startsWith(root + sep + 'src' + sep)) return undefined; // inside node_modules
      const target = resolve(dirname(args.importer), args.path);
      if (target.startsWith(uiDir + sep)) return undefined; // bundled
      let spec = relative(uiDir, target).split(sep).join('/');
      if (!spec.startsWith('.')) spec = `./${spec}`;
      return { path: spec, external: true };
    });
  },
};

/**
 * Yoga's Emscripten loader gets its wasm from a base64 data: URL, with `fetch` when the global exists. In Node
 * that first `fetch` loads undici, Node's whole HTTP client: ~100 ms of CPU to decode 97 KB. Shadowing `fetch` in
 * that one module makes it take its own synchronous path (atob), as it does where there is no fetch.
 */
const yogaWithoutFetch = {
  name: 'yoga-without-fetch',
  setup(b) {
    b.onLoad({ filter: /yoga-layout[\\/]dist[\\/]binaries[\\/][^\\/]+\.js$/ }, async (args) => ({
      contents: `const fetch = undefined;\n${await readFile(args.path, 'utf8')}`,
      loader: 'js',
    }));
  },
};

/**
 * Ink measures, splits and draws every line with string-width and ansi-tokenize, which segment it into grapheme
 * clusters and test each against Unicode tables: most of a frame's CPU. The copies Ink uses get
 * src/ui/fast-text.ts's one-pass versions in front (same results; what they do not know goes to the exact
 * function). Other copies (wrap-ansi's own string-width) are left alone.
 */
function fastPathFor(name, contents) {
  const virtual = `svcfleet-fast:${name}`;
  return {
    name: virtual,
    setup(b) {
      let exactPath;
      const filter = new RegExp(`^${name.replace(/[/@.]/g, (c) => `\\${c}`)}$`);
      b.onResolve({ filter }, async (args) => {
        if (args.pluginData === virtual) return undefined; // the wrapper's own import: the real module
        const real = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: virtual });
        if (real.errors.length) return { errors: real.errors };
        exactPath ??= (await b.resolve(name, { kind: 'import-statement', resolveDir: join(root, 'node_modules', 'ink'), pluginData: virtual })).path;
        return real.path === exactPath ? { path: name, namespace: virtual } : { path: real.path };
      });
      b.onLoad({ filter: /.*/, namespace: virtual }, () => ({
        contents: `import * as fast from ${JSON.stringify(join(uiDir, 'fast-text.ts'))};\n${contents}`,
        resolveDir: join(root, 'node_modules', 'ink'),
        pluginData: virtual,
        loader: 'js',
      }));
    },
  };
}

const result = await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // React picks its production build from NODE_ENV; fixing it here drops the development build from the bundle.
  define: { 'process.env.NODE_ENV': '"production"', 'Intl.Segmenter': 'LazySegmenter' },
  // The class `Intl.Segmenter` is defined as (see fast-text.ts).
  inject: [join(uiDir, 'lazy-segmenter.ts')],
  plugins: [
    controllerModulesExternal,
    yogaWithoutFetch,
    // string-width's exact path is loaded on first use (require() makes esbuild wrap the module in a lazy
    // initializer): its top level builds an RGI_Emoji regular expression, ~25 ms of CPU, seldom needed.
    fastPathFor(
      'string-width',
      `let exact;\nexport default fast.fastStringWidth((text, options) => (exact ??= require('string-width').default)(text, options));\n`,
    ),
    fastPathFor(
      '@alcalzone/ansi-tokenize',
      `import * as exact from '@alcalzone/ansi-tokenize';\nexport * from '@alcalzone/ansi-tokenize';\n` +
        `export const { tokenize, styledCharsFromTokens, styledCharsToString } = fast.fastAnsiTokenize(exact);\n`,
    ),
  ],
  // CommonJS inside the bundle (React) may call require() for Node built-ins.
  banner: { js: "import { createRequire as __svcfleetCreateRequire } from 'node:module'; const require = __svcfleetCreateRequire(import.meta.url);" },
  legalComments: 'eof',
  sourcemap: true,
  minifySyntax: true,
  logLevel: 'warning',
  metafile: true,
});
if (process.argv.includes('--analyze')) console.log(await (await import('esbuild')).analyzeMetafile(result.metafile));
