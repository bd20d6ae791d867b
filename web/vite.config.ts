/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// The API the dev server proxies /v1 to: `pulse demo` / `make run` by default;
// PULSE_API=http://127.0.0.1:8010 for scripts/mock-server.mjs.
const API = process.env.PULSE_API ?? 'http://127.0.0.1:8000'

// Built into web/dist/: Starlette serves dist/index.html at `/` and
// dist/assets/ at `/assets/`. `base: '/'` keeps asset URLs absolute so the
// page also works if the server answers index.html for deeper paths.
export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    // Every asset gets its own file under /assets/ (no data: URIs in index.html).
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      // The Booking Pulse API (`pulse demo` / `make run`). SSE passes through.
      '/v1': { target: API, changeOrigin: false },
    },
  },
  preview: {
    proxy: {
      '/v1': { target: API, changeOrigin: false },
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
})
