/// <reference types="vitest/config" />
// Vite builds the app into dist/, which Django serves through WhiteNoise (harmony_split/README.md).
// `npm run dev` serves the app with hot reload and forwards /api/ and /accounts/ to Django on HARMONY_PORT.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const django = `http://127.0.0.1:${process.env.HARMONY_PORT ?? "8000"}`;

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  server: {
    port: Number(process.env.VITE_PORT ?? "5173"),
    proxy: { "/api": django, "/accounts": django, "/admin": django },
  },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
