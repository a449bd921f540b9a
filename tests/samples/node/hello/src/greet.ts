export function greet(name: string, times: number): string {
  return Array.from({ length: times }, () => `hello, ${name}`).join("; ");
}

console.log(greet("reactor", 2));
