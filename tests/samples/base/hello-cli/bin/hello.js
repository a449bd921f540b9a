#!/usr/bin/env node
console.log(`reactor-hello ${process.arch}`);
