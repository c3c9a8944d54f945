import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

/**
 * The API serves the built SPA (apps/admin/dist) on its own origin in production and in e2e. In
 * development the Vite server proxies every API path to it, so the browser code always talks to
 * same-origin `/trpc`, `/api` and `/storage` and never needs CORS. `ws: true` carries the tRPC
 * subscriptions (WebSocket upgrades on /trpc).
 */
const apiTarget = process.env.AIRLOCK_API_URL ?? "http://localhost:3000";
const proxied = { target: apiTarget, ws: true } as const;

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    proxy: { "/trpc": proxied, "/api": proxied, "/storage": proxied },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
  },
});
