// The function the jest tests check.
module.exports = function sum(a, b) {
  return a + b;
};
