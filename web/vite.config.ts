import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [preact()],
  // No inline module-preload polyfill: the page's CSP allows scripts from 'self' only.
  build: { modulePreload: { polyfill: false }, assetsInlineLimit: 0 },
});
