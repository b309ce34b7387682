// Vite's module kinds the UI imports: a stylesheet is bundled by its import.
declare module "*.css";
