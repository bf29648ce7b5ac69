// Served from @nanogrid/client's build (fetch-based, browser-safe).
export * from '@nanogrid/client';
