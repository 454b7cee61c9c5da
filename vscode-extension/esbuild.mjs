// Bundles the extension (Node, CommonJS, `vscode` external) and the plot webview script
// (browser IIFE with Chart.js inside: the webview loads nothing from the network).
import * as esbuild from 'esbuild'

const production = process.argv.includes('--production')
const watch = process.argv.includes('--watch')

const common = { bundle: true, minify: production, sourcemap: !production, logLevel: 'info' }

const builds = [
  {
    ...common,
    entryPoints: ['src/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    external: ['vscode']
  },
  {
    ...common,
    entryPoints: ['src/webview/plot.ts'],
    outfile: 'dist/webview/plot.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2020'
  }
]

if (watch) {
  for (const options of builds) {
    await (await esbuild.context(options)).watch()
  }
} else {
  await Promise.all(builds.map(options => esbuild.build(options)))
}
