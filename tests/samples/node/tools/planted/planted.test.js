const sum = require("../sum");

test("a planted failure", () => {
  expect(sum(1, 1)).toBe(3);
});
