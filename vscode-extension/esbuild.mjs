// Bundles the extension (Node, CommonJS, `vscode` external) and the plot webview script
// (browser IIFEs: the plots dashboard with ECharts, the experiments table with AG Grid; a
// webview loads nothing from the network).
import * as esbuild from 'esbuild'
import { rmSync } from 'fs'

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
  ...['plot', 'experiments'].map(name => ({
    ...common,
    entryPoints: [`src/webview/${name}.ts`],
    outfile: `dist/webview/${name}.js`,
    platform: 'browser',
    format: 'iife',
    target: 'es2020',
    // AG Grid's ValidationModule is registered in development builds only
    define: { 'process.env.NODE_ENV': JSON.stringify(production ? 'production' : 'development') }
  }))
]

if (production) {
  // no source maps of an earlier development build may end up in the .vsix
  rmSync('dist', { recursive: true, force: true })
}

if (watch) {
  for (const options of builds) {
    await (await esbuild.context(options)).watch()
  }
} else {
  await Promise.all(builds.map(options => esbuild.build(options)))
}
