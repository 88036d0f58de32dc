import { defineConfig } from 'drizzle-kit'

// drizzle-kit generates the SQL in migrations/ from src/db/schema.ts: `npx drizzle-kit generate`.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
})
