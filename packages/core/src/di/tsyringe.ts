// tsyringe needs the Reflect metadata polyfill loaded before its decorators run;
// every engine file imports tsyringe through here so the order always holds.
import 'reflect-metadata';

export { container, inject, injectable } from 'tsyringe';
export type { DependencyContainer } from 'tsyringe';
