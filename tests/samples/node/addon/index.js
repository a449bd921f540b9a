// The compiled addon, as node-gyp builds it on `npm install`.
module.exports = require("./build/Release/reactor_addon.node");
