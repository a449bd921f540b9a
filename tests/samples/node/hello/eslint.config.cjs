// CommonJS on purpose: require() finds @eslint/js and typescript-eslint in the image's tools through
// NODE_PATH, so this project needs no node_modules of its own (ES module imports would).
const js = require("@eslint/js");
const tseslint = require("typescript-eslint");

module.exports = [js.configs.recommended, ...tseslint.configs.recommended];
