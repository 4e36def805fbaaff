// Builders shared by the controller unit tests: a controller wired to fake replicas, a fake clock
// and a fake resource scheduler, plus deployment targets from plain options.

import { ResourceUnavailableError } from "../../../src/errors.ts";
import { resolveDeploymentConfig, type DeploymentOptions } from "../../../src/deployments/options.ts";
import { Controller, type ApplicationSpec } from "../../../src/runtime/controller.ts";
import type { ControlLogger, DeploymentTarget } from "../../../src/runtime/deployment-state.ts";
import type { Placement, ReplicaScheduler } from "../../../src/runtime/placement.ts";
import { FakeClock, fakeFactory, flush, type FakeFactory } from "./fakes.ts";

export class FakeScheduler implements ReplicaScheduler {
  readonly total: Record<string, number>;
  readonly available: Record<string, number>;
  constructor(total: Record<string, number>) {
    this.total = { ...total };
    this.available = { ...total };
  }
  place(a: DeploymentTarget["config"]["actorOptions"]): Placement {
    const want: Record<string, number> = { CPU: a.numCpus, GPU: a.numGpus, ...a.resources };
    for (const [k, v] of Object.entries(want)) {
      if (v > (this.available[k] ?? 0)) throw new ResourceUnavailableError(k, v, this.available[k] ?? 0);
    }
    for (const [k, v] of Object.entries(want)) this.available[k] = (this.available[k] ?? 0) - v;
    let released = false;
    return {
      gpuIds: a.numGpus > 0 ? [0] : [],
      resources: want,
      release: () => {
        if (released) return;
        released = true;
        for (const [k, v] of Object.entries(want)) this.available[k] = (this.available[k] ?? 0) + v;
      },
    };
  }
  snapshot() {
    return { total: { ...this.total }, available: { ...this.available } };
  }
}

export interface LogLine {
  level: string;
  msg: string;
  obj: object;
}

export function recordingLogger(): ControlLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, msg, obj });
  return { lines, info: at("info"), warn: at("warn"), error: at("error") };
}

export function target(name: string, options: DeploymentOptions = {}, codeVersion = "v1", app = "app"): DeploymentTarget {
  return {
    id: { app, deployment: name },
    modulePath: "/nowhere/module.ts",
    exportName: name,
    initArgs: [],
    config: resolveDeploymentConfig({ actorOptions: { numCpus: 0 }, ...options }),
    codeVersion,
  };
}

export function appSpec(targets: DeploymentTarget[], name = "app", routePrefix: string | null = "/"): ApplicationSpec {
  return { name, routePrefix, ingress: targets.at(-1)!.id.deployment, deployments: targets };
}

export interface Harness {
  controller: Controller;
  clock: FakeClock;
  fakes: FakeFactory;
  scheduler: FakeScheduler;
  log: ReturnType<typeof recordingLogger>;
  /** Lets promises settle, advances the clock, runs one controller step. */
  tick(ms?: number): Promise<void>;
  /** Replica counts by state for one deployment (PENDING included). */
  states(deployment: string, app?: string): Record<string, number>;
}

export function harness(o: { resources?: Record<string, number>; autoStart?: boolean } = {}): Harness {
  const clock = new FakeClock();
  const fakes = fakeFactory();
  if (o.autoStart) fakes.onCreate = (r) => queueMicrotask(() => r.succeedStart());
  const scheduler = new FakeScheduler(o.resources ?? { CPU: 100 });
  const log = recordingLogger();
  const controller = new Controller({ clock, replicaFactory: fakes.factory, scheduler, log });
  return {
    controller,
    clock,
    fakes,
    scheduler,
    log,
    async tick(ms = 100) {
      await flush();
      clock.advance(ms);
      controller.step();
      await flush();
    },
    states(deployment, app = "app") {
      const s = controller.applicationStatus(app)?.deployments.find((d) => d.name === deployment);
      if (!s) return {};
      return Object.fromEntries(Object.entries(s.replicaStates).filter(([, n]) => n > 0));
    },
  };
}
