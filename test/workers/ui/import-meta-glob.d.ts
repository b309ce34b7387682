/** Vite's `import.meta.glob` as the UI tests use it (lazy loaders of files' text), for tsc. */
interface ImportMeta {
  glob<T>(pattern: string, options: { query?: string; import?: string }): Record<string, () => Promise<T>>;
}
