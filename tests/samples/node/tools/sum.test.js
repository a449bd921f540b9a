const sum = require("./sum");

test("adds two numbers", () => {
  expect(sum(40, 2)).toBe(42);
});
