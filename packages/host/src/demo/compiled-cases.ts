import { type DemoCase, expectResult as completed } from './demo-cases.js';

/** The compiled examples (built at deploy); they need g++ / go in the image or, in the process sandbox, on the host. */
export const CPP_CASE: DemoCase = {
  title: 'calculator (C++, compiled)',
  file: 'calculator.cpp',
  runtime: 'cpp',
  payload: { a: 6, b: 7, op: '*' },
  mode: 'sync',
  check: (j) => completed(j, (r) => r['result'] === 42, '{"result":42}'),
};

export const GO_CASE: DemoCase = {
  title: 'hello (Go, compiled)',
  file: 'hello.go',
  runtime: 'go1.x',
  payload: { name: 'Gopher' },
  mode: 'sync',
  check: (j) => completed(j, (r) => r['message'] === 'Hello, Gopher!', '{"message":"Hello, Gopher!"}'),
};
