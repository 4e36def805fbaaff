// The controller: the reconcile loop over every application's deployments. The loop (`start`,
// every ~100 ms) is kept apart from one step (`step`), and each deployment's update() is wrapped
// so a failure is logged and never stops the loop — as in Ray Serve's controller. The goal
// (applications and their deployment targets) changes only through deployApplication /
// deleteApplication; the step moves current state toward it. Routers live here too, one per
// deployment, because the controller is what knows which replicas may take requests.

import { AppNotFoundError, DeploymentNotFoundError, InvalidOptionsError, ShuttingDownError } from "../errors.ts";
import type { IngressDefinition } from "../deployments/ingress-definition.ts";
import type { ApplicationStatusInfo } from "../observability/status.ts";
import { replicaQueueLengthPolicy, type AutoscalingPolicy } from "./autoscaling-policy.ts";
import type { CallTransport } from "./call.ts";
import type { Clock } from "./clock.ts";
import {
  DeploymentState,
  type ControlLogger,
  type DeploymentStatusReport,
  type DeploymentTarget,
} from "./deployment-state.ts";
import { deploymentKey, replicaId, type DeploymentId, type ReplicaId } from "./ids.ts";
import type { ReplicaScheduler } from "./placement.ts";
import type { ReplicaFactory } from "./replica.ts";
import type { ReplicaPicker } from "./replica-picker.ts";
import { DeploymentRouter } from "./router.ts";
import { UnkillableThreads, type UnkillableThreadInfo } from "./unkillable-threads.ts";

export interface ApplicationSpec {
  name: string;
  /** Where HTTP traffic for the app is served; null: handle-only. */
  routePrefix: string | null;
  ingress: string;
  deployments: DeploymentTarget[];
  /** What `@ingress(...)` declared on the ingress class, if anything. */
  ingressDefinition?: IngressDefinition;
}

export type ApplicationStatus = "DEPLOYING" | "RUNNING" | "DEPLOY_FAILED" | "DELETING" | "UNHEALTHY";

export interface ApplicationStatusReport extends ApplicationStatusInfo {
  status: ApplicationStatus;
  ingressDeployment: string;
  deployments: DeploymentStatusReport[];
}

export interface ControllerOptions {
  clock: Clock;
  replicaFactory: ReplicaFactory;
  scheduler: ReplicaScheduler;
  log: ControlLogger;
  /** Handle calls made inside replicas come back through this (the runtime's transport). */
  upcall?: CallTransport;
  policy?: AutoscalingPolicy;
  picker?: () => ReplicaPicker;
  /** Loop period; default 100 ms. */
  tickMs?: number;
  healthCheckFailureThreshold?: number;
  /**
   * How long a replica's thread may take to exit once terminated (or after its drain) before it
   * is reported as a thread that will not exit; default 2000 ms. Worker.terminate() ends
   * JavaScript, a busy loop included, in milliseconds (about 10 ms measured here): only a native
   * call (a synchronous child process, a native addon's compute) outlasts it.
   */
  threadExitWaitMs?: number;
  maxStartFailures?: number;
}

interface ApplicationState {
  spec: ApplicationSpec;
  deleting: boolean;
}

let replicaCounter = 0;
const DEFAULT_THREAD_EXIT_WAIT_MS = 2_000;

export class Controller {
  readonly #opts: ControllerOptions;
  readonly #apps = new Map<string, ApplicationState>();
  readonly #deployments = new Map<string, DeploymentState>();
  readonly #routers = new Map<string, DeploymentRouter>();
  readonly #listeners = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #stepSoon: NodeJS.Immediate | undefined;
  #stepping = false;
  readonly #unkillable = new UnkillableThreads();

  constructor(options: ControllerOptions) {
    this.#opts = options;
  }

  get tickMs(): number {
    return this.#opts.tickMs ?? 100;
  }

  /**
   * Starts the loop (idempotent). The timer keeps the process alive until `stop()`/`shutdown()`:
   * a runtime is a server, and a handle-only one would otherwise exit under a pending deploy.
   */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.step(), this.tickMs);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#stepSoon) clearImmediate(this.#stepSoon);
    this.#stepSoon = undefined;
  }

  /** Runs a step soon (coalesced): used when a request waits on a deployment with no replica. */
  requestStep(): void {
    if (this.#stepSoon || !this.#timer) return;
    this.#stepSoon = setImmediate(() => {
      this.#stepSoon = undefined;
      this.step();
    });
  }

  /** Listens for the end of each step (for waiters); returns an unsubscribe function. */
  onStep(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sets an application's goal: new deployments start, changed ones update, dropped ones stop. */
  deployApplication(spec: ApplicationSpec): void {
    // Only apps with an HTTP ingress are mounted, so only they can clash on a prefix.
    if (spec.routePrefix !== null && spec.ingressDefinition) {
      for (const [name, app] of this.#apps) {
        if (name === spec.name || app.deleting || !app.spec.ingressDefinition) continue;
        if (app.spec.routePrefix === spec.routePrefix) {
          throw new InvalidOptionsError(
            `routePrefix "${spec.routePrefix}" is already used by application "${name}"`,
          );
        }
      }
    }
    const previous = this.#apps.get(spec.name);
    const keep = new Set(spec.deployments.map((d) => d.id.deployment));
    if (previous) {
      for (const old of previous.spec.deployments) {
        if (!keep.has(old.id.deployment)) this.#deployments.get(deploymentKey(old.id))?.delete();
      }
    }
    for (const target of spec.deployments) {
      const key = deploymentKey(target.id);
      const existing = this.#deployments.get(key);
      if (existing) existing.deploy(target);
      else this.#deployments.set(key, this.#newDeployment(target));
    }
    this.#apps.set(spec.name, { spec, deleting: false });
  }

  /** Marks an application for deletion; its replicas drain and stop over the next steps. */
  deleteApplication(name: string): boolean {
    const app = this.#apps.get(name);
    if (!app) return false;
    app.deleting = true;
    for (const d of app.spec.deployments) this.#deployments.get(deploymentKey(d.id))?.delete();
    return true;
  }

  /** One reconcile step over every deployment; logs failures and never throws. */
  step(): void {
    if (this.#stepping) return;
    this.#stepping = true;
    try {
      for (const [key, state] of this.#deployments) {
        try {
          state.update();
        } catch (err) {
          this.#opts.log.error({ err, deployment: key }, `controller: updating ${key} failed`);
        }
        if (state.isDeleted) {
          this.#deployments.delete(key);
          this.#routers.get(key)?.close(
            new DeploymentNotFoundError(`deployment ${state.id.deployment} of application ${state.id.app} was deleted`),
          );
          this.#routers.delete(key);
        }
      }
      for (const [name, app] of this.#apps) {
        if (app.deleting && app.spec.deployments.every((d) => !this.#deployments.has(deploymentKey(d.id)))) {
          this.#apps.delete(name);
        }
      }
      for (const t of this.#unkillable.sweep()) {
        this.#opts.log.info({ replica: t.replica }, `the thread of replica ${t.replica} has exited after all`);
      }
    } catch (err) {
      this.#opts.log.error({ err }, "controller step failed");
    } finally {
      this.#stepping = false;
    }
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch (err) {
        this.#opts.log.error({ err }, "controller step listener failed");
      }
    }
  }

  /** The router of a deployment, for handles and HTTP dispatch. */
  router(id: DeploymentId): DeploymentRouter {
    const r = this.#routers.get(deploymentKey(id));
    if (r) return r;
    if (!this.#apps.has(id.app)) throw new AppNotFoundError(`no application named "${id.app}"`);
    throw new DeploymentNotFoundError(`application "${id.app}" has no deployment named "${id.deployment}"`);
  }

  hasApplication(name: string): boolean {
    const app = this.#apps.get(name);
    return app !== undefined && !app.deleting;
  }

  application(name: string): ApplicationSpec | undefined {
    const app = this.#apps.get(name);
    return app && !app.deleting ? app.spec : undefined;
  }

  applicationNames(): string[] {
    return [...this.#apps.keys()];
  }

  /** Whether any deployment or application is still being torn down. */
  get busy(): boolean {
    return this.#deployments.size > 0 || this.#apps.size > 0;
  }

  isReplicaRoutable(id: ReplicaId): boolean {
    for (const r of this.#routers.values()) if (r.hasReplica(id)) return true;
    return false;
  }

  /** Replica threads that were told to end and have not exited (blocked in native code). */
  unkillableThreads(): UnkillableThreadInfo[] {
    return this.#unkillable.list();
  }

  status(): ApplicationStatusReport[] {
    return [...this.#apps.keys()].map((name) => this.applicationStatus(name)!);
  }

  applicationStatus(name: string): ApplicationStatusReport | undefined {
    const app = this.#apps.get(name);
    if (!app) return undefined;
    const deployments = app.spec.deployments
      .map((d) => this.#deployments.get(deploymentKey(d.id))?.status())
      .filter((d): d is DeploymentStatusReport => d !== undefined);
    const failed = deployments.find((d) => d.status === "DEPLOY_FAILED");
    let status: ApplicationStatus;
    if (app.deleting) status = "DELETING";
    else if (failed) status = "DEPLOY_FAILED";
    else if (deployments.some((d) => d.status === "UPDATING")) status = "DEPLOYING";
    else if (deployments.some((d) => d.status === "UNHEALTHY")) status = "UNHEALTHY";
    else status = "RUNNING";
    const report: ApplicationStatusReport = {
      name,
      routePrefix: app.spec.routePrefix ?? "",
      status,
      ingressDeployment: app.spec.ingress,
      deployments,
    };
    const messages = deployments.filter((d) => d.message).map((d) => `${d.name}: ${d.message}`);
    if (messages.length > 0) report.message = messages.join("; ");
    return report;
  }

  /** Stops every replica (draining up to each graceful timeout) and ends the loop. */
  async shutdown(): Promise<void> {
    for (const name of this.#apps.keys()) this.deleteApplication(name);
    for (const state of this.#deployments.values()) state.stopAll();
    for (const r of this.#routers.values()) r.close(new ShuttingDownError());
    while (this.#deployments.size > 0) {
      this.step();
      if (this.#deployments.size === 0) break;
      await new Promise((r) => setTimeout(r, Math.min(50, this.tickMs)));
    }
    this.step();
    this.stop();
  }

  #newDeployment(target: DeploymentTarget): DeploymentState {
    const key = deploymentKey(target.id);
    const router = new DeploymentRouter({
      name: key,
      maxOngoingRequests: target.config.maxOngoingRequests,
      maxQueuedRequests: target.config.maxQueuedRequests,
      maxOngoingStreams: target.config.maxOngoingStreams,
      idempotent: target.config.idempotent,
      picker: this.#opts.picker?.(),
      onDemand: () => this.requestStep(),
    });
    this.#routers.set(key, router);
    return new DeploymentState(target, {
      clock: this.#opts.clock,
      replicaFactory: this.#opts.replicaFactory,
      scheduler: this.#opts.scheduler,
      router,
      upcall: this.#opts.upcall,
      log: this.#opts.log,
      policy: this.#opts.policy ?? replicaQueueLengthPolicy,
      healthCheckFailureThreshold: this.#opts.healthCheckFailureThreshold ?? 3,
      threadExitWaitMs: this.#opts.threadExitWaitMs ?? DEFAULT_THREAD_EXIT_WAIT_MS,
      unkillable: this.#unkillable,
      maxStartFailures: this.#opts.maxStartFailures ?? 3,
      requestStep: () => this.requestStep(),
      newReplicaId: (id) => replicaId(`${id.app}#${id.deployment}#${(++replicaCounter).toString(36)}${randomSuffix()}`),
    });
  }
}

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 6);
}
