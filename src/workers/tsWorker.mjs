// A worker thread's module when the service runs from its TypeScript sources (tsx, the tests):
// workers/pool.ts starts threads with no flags, so none of the process's loaders; this registers tsx
// in the thread and hands piscina the .ts module's default export (the task handler). Compiled
// (dist/), the pools load their .js modules directly and this file is not used.
import { workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

register()
const { default: handler } = await import(workerData.tsModule)
export default handler
