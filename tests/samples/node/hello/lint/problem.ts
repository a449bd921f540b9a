// Planted eslint finding: @typescript-eslint/no-explicit-any.
export function parse(text: string): any {
  return JSON.parse(text);
}
