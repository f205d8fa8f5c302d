/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The built console ships inside tenantkit-runtime's wheel: `tenantkit serve` serves it.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../runtime/src/tenantkit_runtime/console/dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    rolldownOptions: {
      output: {
        // Pages are lazy routes (one chunk each); React and the router form one
        // long-cached vendor chunk; markdown rendering loads with the chat page only.
        codeSplitting: {
          groups: [
            { name: "react", test: /node_modules[\\/](react|react-dom|react-router|scheduler)[\\/]/ },
            { name: "markdown", test: /node_modules[\\/](marked|dompurify)[\\/]/ },
          ],
        },
      },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
