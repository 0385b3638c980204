// Starts a worker thread: forbidden in pure modules and in packages/pipelines.
import { Worker } from 'node:worker_threads';

export const start = (file: string): Worker => new Worker(file);
