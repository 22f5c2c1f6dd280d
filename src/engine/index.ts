export * from './command.js';
export * from './run.js';
export * from './detect.js';
export * from './engine.js';
export * from './compose.js';
export * from './docker.js';
export * from './live.js';
export * from './context.js';
