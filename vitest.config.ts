import { fileURLToPath } from "node:url";
import { transform } from "esbuild";
import { defineConfig, type Plugin } from "vitest/config";

// Vite 8 transforms TypeScript with oxc, which only knows legacy (experimentalDecorators)
// decorators. stingray uses TC39 standard decorators (as tsx/esbuild compiles them at run time),
// so files that contain a decorator are lowered by esbuild first, exactly as tsx would.
function standardDecorators(): Plugin {
  const DECORATOR = /^\s*@[A-Za-z_$]/m;
  return {
    name: "stingray:standard-decorators",
    enforce: "pre",
    async transform(code, id) {
      const file = id.split("?")[0]!;
      if (!/\.[cm]?tsx?$/.test(file) || file.includes("/node_modules/") || !DECORATOR.test(code)) return null;
      const out = await transform(code, {
        loader: file.endsWith("x") ? "tsx" : "ts",
        format: "esm",
        target: "es2022",
        sourcemap: true,
        sourcefile: file,
      });
      return { code: out.code, map: out.map };
    },
  };
}

export default defineConfig({
  plugins: [standardDecorators()],
  // "stingray" is the sources here, as tsconfig.json's paths say for tsc and tsx (the package's
  // exports name the compiled dist/, which a test run must not depend on).
  resolve: { alias: [{ find: /^stingray$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) }] },
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start real worker threads and servers; CI has 2 cores.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
  },
});
