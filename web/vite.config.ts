import { defineConfig } from 'vite';

// Preact's automatic JSX runtime; the API serves dist/ at / (hashed assets under /assets/).
export default defineConfig({
  root: import.meta.dirname,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
});
