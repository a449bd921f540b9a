export const numbers = [1, 2, 3];
export function total() {
  return numbers.reduce((a, b) => a + b, 0);
}
