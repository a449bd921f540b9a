// Prints the watched file's content: nodemon restarts it when the file changes.
const fs = require("fs");
console.log("run " + fs.readFileSync(__dirname + "/watched.txt", "utf8").trim());
