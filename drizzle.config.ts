import { defineConfig } from "drizzle-kit";

// Generation only: `npm run db:generate` writes SQL into migrations/, which wrangler applies
// (`wrangler d1 migrations apply`) in npm start, in the tests and in production alike.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
  casing: "snake_case",
});
