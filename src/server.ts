/** The proxy's composition lives in src/server/; this module keeps the `src/server.js` import path. */
export * from './server/index.js';
