import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [preact()],
  // No inline module-preload polyfill: the page's CSP allows scripts from 'self' only. Two pages: the
  // webmail (index.html, at /) and the web admin (admin.html, at /admin).
  build: {
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    rollupOptions: { input: { webmail: "index.html", admin: "admin.html" } },
  },
});
