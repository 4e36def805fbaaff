// One deployment's goal state (what should run: code version, userConfig, replica count) and
// current state (its replicas by state), and `update()`, one reconcile step between them:
// collect finished starts / reconfigures / stops, probe running replicas' liveness, replace dead
// ones (as RECOVERING; one that fails its probes is terminated without a drain), apply autoscaling, reconfigure in place when only userConfig
// changed, and start or stop replicas toward the goal — gradually when the code version changed
// (a rolling update: a new replica must run before an old one is drained, so no request fails).
// Repeated start failures of one version end in DEPLOY_FAILED carrying the error, not a crash loop.

import { DeployFailedError, ReplicaDiedError, ResourceUnavailableError } from "../errors.ts";
import type { DeploymentConfig } from "../deployments/options.ts";
import {
  actorResources,
  describeError,
  replicaSpecFor,
  replicaStatusList,
  type DeploymentStateDeps,
  userConfigVersion,
  type ControlLogger,
  type DeploymentStatus,
  type DeploymentStatusReport,
  type DeploymentTarget,
} from "./deployment-info.ts";
import { AutoscalingState } from "./autoscaling-state.ts";
import type { DeploymentId } from "./ids.ts";
import { ReplicaState, ReplicaStateContainer, type ReplicaStateName, type ReplicaVersion } from "./replica-state.ts";

export type {
  ControlLogger,
  DeploymentStateDeps,
  DeploymentStatus,
  DeploymentStatusReport,
  DeploymentTarget,
} from "./deployment-info.ts";

const STARTING_STATES: readonly ReplicaStateName[] = ["STARTING", "RECOVERING"];
const ACTIVE_STATES: readonly ReplicaStateName[] = ["STARTING", "RECOVERING", "RUNNING", "UPDATING"];
/** Start retries back off from this, doubling, up to MAX_BACKOFF_MS. */
const BASE_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

export class DeploymentState {
  readonly id: DeploymentId;
  readonly #deps: DeploymentStateDeps;
  #target: DeploymentTarget;
  #userConfigVersion: string;
  #targetReplicas: number;
  #deleting = false;
  readonly #replicas = new ReplicaStateContainer();
  #startFailures = 0;
  #failed: Error | undefined;
  #nextStartAtMs = 0;
  #lastError: Error | undefined;
  #restarts = 0;
  #recoveriesOwed = 0;
  #pending: { count: number; error: ResourceUnavailableError } | undefined;
  /** The goal was reached since the last deploy (UPDATING until then). */
  #reachedGoal = false;
  #scaling: "UPSCALING" | "DOWNSCALING" | undefined;
  readonly #autoscaling: AutoscalingState;
  #published = "";

  constructor(target: DeploymentTarget, deps: DeploymentStateDeps) {
    this.id = target.id;
    this.#deps = deps;
    this.#target = target;
    this.#userConfigVersion = userConfigVersion(target.config.userConfig);
    this.#targetReplicas = initialReplicas(target.config);
    this.#autoscaling = new AutoscalingState(deps.policy);
    this.#applyLimits();
  }

  get target(): DeploymentTarget {
    return this.#target;
  }

  get targetReplicas(): number {
    return this.#deleting ? 0 : this.#targetReplicas;
  }

  /** Deleted and every replica gone: the controller may forget it. */
  get isDeleted(): boolean {
    return this.#deleting && this.#replicas.count() === 0;
  }

  get isDeleting(): boolean {
    return this.#deleting;
  }

  /** A new goal. A userConfig-only change is applied in place; a code change rolls replicas. */
  deploy(target: DeploymentTarget): void {
    const codeChanged = target.codeVersion !== this.#target.codeVersion;
    const configChanged = userConfigVersion(target.config.userConfig) !== this.#userConfigVersion;
    const wasDeleting = this.#deleting;
    this.#deleting = false;
    if (codeChanged || configChanged || wasDeleting) this.#reachedGoal = false;
    // Any deploy is a fresh attempt: a failed deployment retries even with unchanged code (the
    // cause may have been outside it, e.g. a missing file or environment variable).
    this.#failed = undefined;
    this.#startFailures = 0;
    this.#nextStartAtMs = 0;
    this.#deps.router.setFailure(undefined);
    const before = this.#targetReplicas;
    const auto = target.config.autoscaling;
    if (!auto) this.#targetReplicas = target.config.numReplicas ?? 1;
    else if (!this.#target.config.autoscaling || wasDeleting) this.#targetReplicas = auto.initialReplicas;
    else this.#targetReplicas = Math.min(auto.maxReplicas, Math.max(auto.minReplicas, this.#targetReplicas));
    if (this.#targetReplicas !== before) this.#scaling = this.#targetReplicas > before ? "UPSCALING" : "DOWNSCALING";
    this.#target = target;
    this.#userConfigVersion = userConfigVersion(target.config.userConfig);
    this.#applyLimits();
  }

  delete(): void {
    this.#deleting = true;
  }

  /** One reconcile step. Never awaits: slow replicas are checked again on the next step. */
  update(): void {
    const now = this.#deps.clock.now();
    this.#collectDead();
    this.#collectStarted(now);
    this.#collectReconfigured(now);
    this.#checkHealth(now);
    this.#collectStopped(now);
    this.#autoscale(now);
    this.#reconfigureInPlace(now);
    this.#scale(now);
    this.#publish();
    this.#deps.router.poke();
    if (this.#isAtGoal()) {
      this.#reachedGoal = true;
      this.#scaling = undefined;
    }
  }

  /** Stops every replica now (shutdown). */
  stopAll(): void {
    this.#deleting = true;
    const now = this.#deps.clock.now();
    const timeoutMs = this.#target.config.healthCheckTimeoutS * 1000;
    for (const r of this.#replicas.pop(ACTIVE_STATES)) {
      if (r.state !== "RUNNING" || !r.unresponsive(now, timeoutMs)) {
        this.#stopReplica(r, now);
        continue;
      }
      // Its thread is not answering probes now: a drain would only wait out the graceful timeout.
      this.#deps.router.removeReplica(r.id);
      r.terminate(new ReplicaDiedError(`replica ${r.id} was terminated at shutdown: its thread does not answer the liveness probe`), now, this.#deps.threadExitWaitMs);
      this.#replicas.add(r);
    }
    this.#publish();
  }

  status(): DeploymentStatusReport {
    const counts = this.#replicas.counts();
    const replicaStates: Record<string, number> = { ...counts, PENDING: this.#pending?.count ?? 0 };
    const replicas = replicaStatusList(this.#replicas.get(), this.#deps.router.ongoingByReplica());
    const report: DeploymentStatusReport = {
      name: this.id.deployment,
      status: this.#status(),
      targetReplicas: this.targetReplicas,
      runningReplicas: this.#replicas.count(["RUNNING", "UPDATING"]),
      replicaStates,
      replicas,
      queued: this.#deps.router.queued,
      restarts: this.#restarts,
      resourcesPerReplica: actorResources(this.#target.config),
      pendingReplicas: this.#pending?.count ?? 0,
    };
    const message = this.#message();
    if (message) report.message = message;
    if (this.#pending) report.pendingResource = this.#pending.error.resource;
    if (this.#lastError) report.lastError = describeError(this.#lastError);
    return report;
  }

  #status(): DeploymentStatus {
    if (this.#failed) return "DEPLOY_FAILED";
    if (!this.#reachedGoal) return "UPDATING";
    if (this.#isAtGoal()) return "HEALTHY";
    if (this.#scaling) return this.#scaling;
    return "UNHEALTHY";
  }

  #message(): string | undefined {
    if (this.#failed) return `replicas failed to start ${this.#startFailures} times in a row: ${this.#failed.message}`;
    if (this.#pending) {
      return `${this.#pending.count} replica(s) pending: ${this.#pending.error.message}`;
    }
    return undefined;
  }

  #isAtGoal(): boolean {
    if (this.#replicas.count(["STARTING", "RECOVERING", "UPDATING"]) > 0) return false;
    const running = this.#replicas.get(["RUNNING"]);
    if (running.some((r) => !this.#isCurrent(r) || r.version.userConfig !== this.#userConfigVersion)) return false;
    return running.length === this.targetReplicas && !this.#pending;
  }

  #isCurrent(r: ReplicaState): boolean {
    return r.version.code === this.#target.codeVersion;
  }

  // ---- collecting results of earlier steps ----

  #collectDead(): void {
    for (const r of this.#replicas.pop()) {
      if (!r.death || r.state === "STOPPING" || r.isStarting) {
        this.#replicas.add(r);
        continue;
      }
      this.#lastError = r.death;
      this.#restarts++;
      this.#recoveriesOwed++;
      r.placement.release();
      this.#deps.log.warn({ replica: r.id, err: r.death }, `replica ${r.id} died; replacing it`);
    }
  }

  #collectStarted(now: number): void {
    for (const r of this.#replicas.pop(STARTING_STATES)) {
      const result = r.checkStarted();
      if (result === undefined) {
        this.#replicas.add(r);
      } else if (!result.error) {
        this.#startFailures = 0;
        this.#replicas.add(r);
      } else {
        r.placement.release();
        this.#lastError = result.error;
        this.#deps.log.warn({ replica: r.id, err: result.error }, `replica ${r.id} failed to start`);
        if (this.#isCurrent(r)) this.#recordStartFailure(result.error, now);
      }
    }
  }

  #recordStartFailure(error: Error, now: number): void {
    this.#lastError = error;
    this.#startFailures++;
    this.#nextStartAtMs = now + Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (this.#startFailures - 1));
    if (this.#startFailures >= this.#deps.maxStartFailures && !this.#failed) {
      this.#failed = error;
      const err = new DeployFailedError(`${this.id.app}#${this.id.deployment} failed to deploy: ${error.message}`, {
        cause: error,
      });
      this.#deps.router.setFailure(err);
      this.#deps.log.error({ err: error }, err.message);
    }
  }

  #collectReconfigured(now: number): void {
    for (const r of this.#replicas.pop(["UPDATING"])) {
      const result = r.checkReconfigured(now);
      if (result?.error) {
        this.#lastError = result.error;
        this.#restarts++;
        this.#recoveriesOwed++;
        this.#deps.log.warn({ replica: r.id, err: result.error }, `reconfigure failed on ${r.id}; replacing it`);
        this.#stopReplica(r, now);
      } else {
        this.#replicas.add(r);
      }
    }
  }

  #checkHealth(now: number): void {
    const cfg = this.#target.config;
    const threshold = this.#deps.healthCheckFailureThreshold;
    const liveness = { periodMs: cfg.healthCheckPeriodS * 1000, timeoutMs: cfg.healthCheckTimeoutS * 1000, threshold };
    for (const r of this.#replicas.pop(["RUNNING"])) {
      const failure = r.checkHealth(now, liveness);
      if (!failure) {
        this.#replicas.add(r);
        continue;
      }
      if (r.death) {
        // Its thread already died on its own: #collectDead replaces it on the next step.
        this.#replicas.add(r);
        continue;
      }
      this.#lastError = failure;
      this.#restarts++;
      this.#recoveriesOwed++;
      this.#deps.log.warn(
        { replica: r.id, err: failure },
        `replica ${r.id} declared dead after ${threshold} failed liveness probes in a row; terminating it without a drain and replacing it`,
      );
      const reason = new ReplicaDiedError(
        `replica ${r.id} was declared dead after ${threshold} failed liveness probes: ${failure.message}`,
        { cause: failure },
      );
      // Out of routing at once: queued requests go to other replicas (or wait for the replacement).
      this.#deps.router.removeReplica(r.id);
      r.terminate(reason, now, this.#deps.threadExitWaitMs);
      this.#replicas.add(r);
    }
  }

  #collectStopped(now: number): void {
    for (const r of this.#replicas.pop(["STOPPING"])) {
      const progress = r.checkStopped(now);
      if (progress === "stopped" || (progress === "stopping" && r.death)) {
        r.placement.release();
      } else if (progress === "will-not-exit") {
        this.#giveUpOn(r, now);
      } else {
        this.#replicas.add(r);
      }
    }
  }

  /**
   * Its thread missed its exit deadline (blocked in native code): release its resources so a
   * replacement can start, and report the thread until it exits. Waiting would leave the
   * deployment short of a replica, and shutdown unbounded, for as long as the native call runs.
   */
  #giveUpOn(r: ReplicaState, now: number): void {
    r.placement.release();
    const how = r.terminated ? "being terminated" : "its graceful stop";
    const message = `its thread did not exit within ${this.#deps.threadExitWaitMs / 1000}s of ${how} (blocked in native code?)`;
    this.#deps.unkillable.add(
      { app: this.id.app, deployment: this.id.deployment, replica: r.id, since: now, message },
      () => r.exited,
    );
    this.#deps.log.error(
      { replica: r.id, app: this.id.app, deployment: this.id.deployment },
      `replica ${r.id}: ${message}; its resources were released and it is reported until it exits; restart the process if it never does (/-/ready fails meanwhile)`,
    );
  }

  // ---- deciding ----

  #autoscale(now: number): void {
    const auto = this.#target.config.autoscaling;
    if (!auto || this.#deleting) return;
    const next = this.#autoscaling.decide(auto, now, {
      currentReplicas: this.#targetReplicas,
      runningReplicas: this.#replicas.count(["RUNNING", "UPDATING"]),
      ongoingRequests: this.#deps.router.ongoingForAutoscaling,
    });
    if (next === this.#targetReplicas) return;
    this.#scaling = next > this.#targetReplicas ? "UPSCALING" : "DOWNSCALING";
    this.#deps.log.info(
      { from: this.#targetReplicas, to: next },
      `autoscaling ${this.id.app}#${this.id.deployment} to ${next} replicas`,
    );
    this.#targetReplicas = next;
  }

  #reconfigureInPlace(now: number): void {
    const version: ReplicaVersion = { code: this.#target.codeVersion, userConfig: this.#userConfigVersion };
    for (const r of this.#replicas.pop(["RUNNING"])) {
      if (this.#isCurrent(r) && r.version.userConfig !== version.userConfig) {
        r.reconfigure(this.#target.config.userConfig, version, now);
      }
      this.#replicas.add(r);
    }
  }

  #scale(now: number): void {
    const goal = this.targetReplicas;
    const active = this.#replicas.get(ACTIVE_STATES);
    const current = active.filter((r) => this.#isCurrent(r));
    const old = active.filter((r) => !this.#isCurrent(r));

    // Too many of the current version: drop those not serving yet first, then the least busy.
    if (current.length > goal) this.#stopSome(current, current.length - goal, now);

    // Old versions that are not serving yet are useless: stop them now.
    for (const r of old.filter((o) => o.isStarting)) this.#stopReplica(r, now);
    const oldServing = old.filter((o) => !o.isStarting);

    // Start new replicas, allowing a small surge above the goal while old ones still serve.
    const currentNow = Math.min(current.length, goal);
    let toStart = goal - currentNow;
    if (oldServing.length > 0) {
      const surge = Math.max(1, Math.ceil(goal * 0.25));
      toStart = Math.min(toStart, goal + surge - currentNow - oldServing.length);
    }
    this.#pending = undefined;
    if (this.#failed || now < this.#nextStartAtMs) toStart = 0;
    for (let i = 0; i < toStart; i++) {
      if (!this.#startReplica(now)) {
        this.#pending = { count: toStart - i, error: this.#pending!.error };
        break;
      }
    }

    // Drain old replicas only as new ones take over, so capacity never drops below the goal.
    const currentServing = this.#replicas.count(["RUNNING", "UPDATING"]) - oldServing.length;
    const allowedOld = Math.max(0, goal - currentServing);
    if (oldServing.length > allowedOld) this.#stopSome(oldServing, oldServing.length - allowedOld, now);
    else if (this.#pending && oldServing.length > 0 && this.#replicas.count(["STOPPING"]) === 0) {
      // No room for a new replica while old ones hold the resources: make room one at a time.
      // Requests queue in the router meanwhile instead of failing.
      this.#stopSome(oldServing, 1, now);
    }
  }

  /** Places and starts one replica; false when resources are short (recorded in #pending). */
  #startReplica(now: number): boolean {
    const t = this.#target;
    let placement;
    try {
      placement = this.#deps.scheduler.place(t.config.actorOptions);
    } catch (err) {
      if (err instanceof ResourceUnavailableError) {
        this.#pending = { count: 1, error: err };
        return false;
      }
      throw err;
    }
    const spec = replicaSpecFor(t, this.#deps.newReplicaId(t.id), placement, this.#deps.upcall);
    let actor;
    try {
      actor = this.#deps.replicaFactory(spec);
    } catch (err) {
      // A spec the actor rejects (bad limits, say) fails like a constructor would.
      placement.release();
      const error = err instanceof Error ? err : new Error(String(err));
      this.#deps.log.warn({ err: error }, `could not create a replica of ${this.id.app}#${this.id.deployment}`);
      this.#recordStartFailure(error, now);
      return true;
    }
    const recovering = this.#recoveriesOwed > 0;
    if (recovering) this.#recoveriesOwed--;
    const r = new ReplicaState(actor, placement, { code: t.codeVersion, userConfig: this.#userConfigVersion }, recovering, now);
    actor.onDeath((death) => {
      r.markDead(death.error);
      // Re-route at once rather than on the next tick.
      this.#deps.router.removeReplica(r.id);
      // Start the replacement now rather than on the next tick (up to tickMs later).
      this.#deps.requestStep?.();
    });
    // A started replica serves from the next step: run it now, not up to tickMs later.
    r.begin(now, () => this.#deps.requestStep?.());
    this.#replicas.add(r);
    return true;
  }

  #stopSome(candidates: ReplicaState[], n: number, now: number): void {
    const ongoing = this.#deps.router.ongoingByReplica();
    const order = [...candidates].sort((a, b) => {
      if (a.isStarting !== b.isStarting) return a.isStarting ? -1 : 1;
      return (ongoing.get(a.id) ?? 0) - (ongoing.get(b.id) ?? 0);
    });
    for (const r of order.slice(0, n)) this.#stopReplica(r, now);
  }

  #stopReplica(r: ReplicaState, now: number): void {
    for (const s of this.#replicas.pop()) if (s !== r) this.#replicas.add(s);
    this.#deps.router.removeReplica(r.id);
    r.stop(this.#target.config.gracefulShutdownTimeoutS * 1000, now, this.#deps.threadExitWaitMs);
    this.#replicas.add(r);
  }

  #publish(): void {
    this.#replicas.refile();
    const routable = this.#replicas.get(["RUNNING", "UPDATING"]).filter((r) => r.routable);
    const key = routable.map((r) => r.id).join(",");
    if (key === this.#published) return;
    this.#published = key;
    this.#deps.router.setReplicas(routable.map((r) => r.actor));
  }

  #applyLimits(): void {
    this.#deps.router.setLimits({
      maxOngoingRequests: this.#target.config.maxOngoingRequests,
      maxQueuedRequests: this.#target.config.maxQueuedRequests,
      maxOngoingStreams: this.#target.config.maxOngoingStreams,
      idempotent: this.#target.config.idempotent,
    });
  }
}

function initialReplicas(config: DeploymentConfig): number {
  return config.autoscaling ? config.autoscaling.initialReplicas : (config.numReplicas ?? 1);
}
