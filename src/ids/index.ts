// Pure identifier functions shared by the API and the CLI: no Fastify, no database.
export * from './idNumber.js'
export * from './creditCode.js'
export * from './certId.js'
