// Compiles only with @types/node: the node: modules and process are Node's own API.
import { readFileSync } from "node:fs";

const argumentCount: number = process.argv.length;
console.log(typeof readFileSync, argumentCount > 0);
