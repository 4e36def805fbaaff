// The Dockerfile, checked offline (no image can be built here): a multi-stage build that compiles
// in one stage, installs production dependencies in another and ships only compiled output and
// those dependencies; a non-root user; SIGTERM as the stop signal; a command that runs the
// compiled CLI on an example app on HOST/PORT. Everything it copies exists and is not excluded by
// .dockerignore. test/integration/deploy/container-command.test.ts runs the command itself.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  execForm,
  isDockerignored,
  lastOf,
  parseCopy,
  parseDockerfile,
  readDockerfile,
  readDockerignore,
  ROOT,
  stageEnv,
  stageRuns,
} from "../../fixtures/deploy-files.ts";

const dockerfile = readDockerfile();
const stages = dockerfile.stages;
const final = stages.at(-1)!;
const stage = (name: string) => stages.find((s) => s.name === name)!;
const ignored = readDockerignore();

describe("Dockerfile", () => {
  it("parses continuations and comments the way Docker does", () => {
    const parsed = parseDockerfile("# c\nFROM a AS b\nRUN x \\\n  # inside\n  && y\nENV A=1 \\\n    B=\"two words\"\nFROM b\nCMD [\"z\"]\n");
    expect(parsed.stages.map((s) => [s.image, s.name])).toEqual([
      ["a", "b"],
      ["b", undefined],
    ]);
    expect(stageRuns(parsed.stages[0]!)).toEqual(["x    && y"]);
    expect(stageEnv(parsed.stages[0]!)).toEqual({ A: "1", B: "two words" });
  });

  it("has a build stage, a production-dependencies stage and a final stage, all on a slim Node 20+ image", () => {
    expect(stages.map((s) => s.name)).toEqual(["build", "deps", undefined]);
    const nodeVersion = dockerfile.globalArgs.find((a) => a.args.startsWith("NODE_VERSION="))!.args.split("=")[1]!;
    expect(Number(nodeVersion)).toBeGreaterThanOrEqual(20);
    for (const s of stages) expect(s.image).toBe("node:${NODE_VERSION}-slim");
  });

  it("compiles with the full dependencies, running no install script", () => {
    const runs = stageRuns(stage("build"));
    expect(runs[0]).toMatch(/^npm ci\b.*--ignore-scripts/);
    expect(runs).toContain("npm run build");
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.build).toBe("node scripts/build.mjs");
  });

  it("installs production dependencies only in its own stage, running no install script", () => {
    const runs = stageRuns(stage("deps"));
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatch(/^npm ci\b/);
    expect(runs[0]).toContain("--omit=dev");
    expect(runs[0]).toContain("--ignore-scripts");
  });

  it("ships compiled output and production dependencies, never sources, tests or the dev tree", () => {
    const copies = final.instructions.filter((i) => i.keyword === "COPY").map((i) => parseCopy(i.args));
    expect(copies.filter((c) => c.from === "build").flatMap((c) => c.sources)).toEqual(["/app/dist"]);
    expect(copies.filter((c) => c.from === "deps").flatMap((c) => c.sources)).toEqual(["/app/node_modules"]);
    const fromContext = copies.filter((c) => !c.from).flatMap((c) => c.sources);
    expect(fromContext.filter((s) => /^(src|test|benchmarks|scripts|node_modules|dist)\b/.test(s))).toEqual([]);
    // Nothing is owned by the user it runs as: the app cannot rewrite itself.
    expect(copies.filter((c) => c.chown)).toEqual([]);
  });

  it("copies only paths that exist and that .dockerignore lets into the context", () => {
    for (const s of stages) {
      for (const c of s.instructions.filter((i) => i.keyword === "COPY").map((i) => parseCopy(i.args))) {
        if (c.from) continue;
        for (const src of c.sources) {
          expect(existsSync(path.join(ROOT, src)), `${src} exists`).toBe(true);
          expect(isDockerignored(src.replace(/\/$/, ""), ignored), `${src} is in the build context`).toBe(false);
        }
      }
    }
    expect(isDockerignored("node_modules", ignored)).toBe(true);
    expect(isDockerignored("dist/index.js", ignored)).toBe(true);
    expect(isDockerignored("test/unit/x.test.ts", ignored)).toBe(true);
    expect(isDockerignored("profile.cpuprofile", ignored)).toBe(true);
  });

  it("runs as a numeric non-root user, stops on SIGTERM and listens on 0.0.0.0:$PORT", () => {
    const [uid, gid] = lastOf(final, "USER")!.args.split(":");
    expect(Number(uid)).toBeGreaterThan(0);
    expect(Number(gid)).toBeGreaterThan(0);
    expect(lastOf(final, "STOPSIGNAL")!.args).toBe("SIGTERM");
    const env = stageEnv(final);
    expect(env.HOST).toBe("0.0.0.0");
    expect(lastOf(final, "EXPOSE")!.args).toBe(env.PORT);
    expect(env.NODE_ENV).toBe("production");
  });

  it("its command runs the compiled CLI (`stingray run`) on an example app, with HOST and PORT", () => {
    const entrypoint = execForm(lastOf(final, "ENTRYPOINT")!.args);
    expect(entrypoint.slice(0, 2)).toEqual(["/bin/sh", "-c"]);
    // exec: node replaces the shell as PID 1, so SIGTERM reaches the runtime.
    expect(entrypoint[2]).toMatch(/^exec node bin\/stingray\.js run "\$@" --host "\$HOST" --port "\$PORT"$/);
    // bin/stingray.js runs dist/ when src/ is absent, as it is in the image.
    const bin = readFileSync(path.join(ROOT, "bin/stingray.js"), "utf8");
    expect(bin).toContain('import("../dist/cli/main.js")');
    expect(bin).toMatch(/new URL\("\.\.\/src\/cli\/main\.ts"/);
    const cmd = execForm(lastOf(final, "CMD")!.args);
    expect(cmd[0]).toBe("examples/weather.ts:app");
    expect(existsSync(path.join(ROOT, "examples/weather.ts"))).toBe(true);
  });

  it("has a HEALTHCHECK on the liveness path for plain Docker", () => {
    const health = lastOf(final, "HEALTHCHECK")!.args;
    expect(health).toContain("/-/healthz");
    expect(execForm(health.slice(health.indexOf("CMD ") + 4))[0]).toBe("node");
  });
});
