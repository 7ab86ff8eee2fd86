/// <reference types="vitest/config" />
// Vite builds the app into dist/, which Django serves through WhiteNoise (harmony_split/README.md).
// `npm run dev` serves the app with hot reload and forwards /api/ and /accounts/ to Django on HARMONY_PORT.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const django = `http://127.0.0.1:${process.env.HARMONY_PORT ?? "8000"}`;
// Django's CSRF check compares the Origin header with the host it serves: requests through the proxy carry
// Django's own origin, as they would when the built app is served by Django itself.
type ProxyRequest = { setHeader: (name: string, value: string) => void };
type Proxy = { on: (event: "proxyReq", listener: (req: ProxyRequest) => void) => void };
const toDjango = {
  target: django,
  changeOrigin: true,
  configure: (proxy: Proxy) => proxy.on("proxyReq", (req) => req.setHeader("origin", django)),
};

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  // The separation worker (src/workers/separate.worker.ts) is a module: onnxruntime-web's WASM and WebGPU builds are
  // separate chunks, loaded on demand, with their .wasm files among the app's own assets (no CDN).
  worker: { format: "es" },
  server: {
    port: Number(process.env.VITE_PORT ?? "5173"),
    proxy: { "/api": toDjango, "/accounts": toDjango, "/admin": toDjango },
  },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
