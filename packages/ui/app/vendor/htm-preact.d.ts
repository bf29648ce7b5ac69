// Served from htm's standalone build (Preact + hooks + htm in one module, no imports).
export * from 'htm/preact/standalone';
export type { VNode } from 'preact';
