/**
 * Shared aegir settings for every workspace package (aegir finds this file by
 * searching up from the package directory).
 *
 * - Everything here runs on Node only, so no browser bundle is built.
 * - Tests get a generous timeout: integration specs start real libp2p nodes.
 */
export default {
  build: {
    bundle: false
  },
  test: {
    target: ['node'],
    timeout: 120_000
  },
  dependencyCheck: {
    ignore: [
      // test-only type packages resolved through aegir
      '@types/mocha',
      '@types/node'
    ]
  }
}
