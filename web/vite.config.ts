import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The dev server and the preview both serve http://localhost:5173, the origin the
// local API allows (APP_CORS_ALLOW_ORIGINS) and the dev sign-in redirects to.
export default defineConfig({
  plugins: [react()],
  server: { host: "localhost", port: 5173, strictPort: true },
  preview: { host: "localhost", port: 5173, strictPort: true },
  build: {
    // No inline script anywhere: the page's CSP is script-src 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    // dist/.vite/manifest.json: ops/deploy.py uploads only the files it names (with
    // index.html and web/public's files) and refuses anything else in dist/.
    manifest: true,
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
