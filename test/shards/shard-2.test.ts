import { runShard } from './shard.js'

// One of the four shards of `npm test` (test/shards/shard.ts).
await runShard(2, 4)
