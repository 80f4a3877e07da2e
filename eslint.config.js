// aegir lints every package with its own config (neostandard + jsdoc +
// import rules). Re-exported here so editors and a bare `eslint` agree with it.
export { default } from 'aegir/eslint.config.js'
