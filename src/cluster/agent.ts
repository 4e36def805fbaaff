// The node agent: makes this node run exactly the replicas the leader placed on it, using the
// ordinary single-node runtime (its controller reconciles, starts, restarts and drains replicas;
// nothing is forked). For every application record it imports the module by path, checks the code
// version against its own files, fixes each deployment's replica count to this node's share (zero
// where the leader placed none: the app is still deployed, so this node's proxy and handles serve
// it through other nodes' replicas) and deploys that locally; an application deleted from the
// cluster, or whose code differs here, is deleted locally. Reconciles run one at a time and only
// when the desired picture changed.

import { applyOverrides, loadApplication } from "../cli/load-app.ts";
import type { Application } from "../deployments/deployment.ts";
import type { Logger } from "../observability/logger.ts";
import { codeVersion, nodeOverrides } from "./app-record.ts";
import type { ApplicationRecord, CodeMismatch, PlacementRecord } from "./records.ts";

/** What the agent needs from the local runtime. */
export interface LocalRuntime {
  deploy(app: Application, options: { name: string; routePrefix: string | null; wait: false }): Promise<unknown>;
  delete(name: string): Promise<void>;
}

interface Applied {
  /** codeVersion + counts + options: redeploy only when it changes. */
  key: string;
}

export class NodeAgent {
  readonly #nodeId: string;
  readonly #runtime: LocalRuntime;
  readonly #log: Logger;
  readonly #records = new Map<string, ApplicationRecord>();
  #placement: PlacementRecord | undefined;
  #highestTerm = 0;
  readonly #applied = new Map<string, Applied>();
  readonly #mismatch = new Map<string, CodeMismatch>();
  readonly #loaded = new Map<string, { key: string; app: Application; version: string }>();
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(nodeId: string, runtime: LocalRuntime, log: Logger) {
    this.#nodeId = nodeId;
    this.#runtime = runtime;
    this.#log = log;
  }

  setRecord(name: string, record: ApplicationRecord | null): void {
    if (record) this.#records.set(name, record);
    else this.#records.delete(name);
    this.#schedule();
  }

  /** Accepts a placement unless an older leader wrote it (fencing by term). */
  setPlacement(record: PlacementRecord | null): boolean {
    if (record && record.term < this.#highestTerm) {
      this.#log.warn({ term: record.term, highest: this.#highestTerm, leader: record.leader }, "ignoring a placement from a stale leader");
      return false;
    }
    if (record) this.#highestTerm = record.term;
    this.#placement = record ?? undefined;
    this.#schedule();
    return true;
  }

  get placement(): PlacementRecord | undefined {
    return this.#placement;
  }

  records(): ApplicationRecord[] {
    return [...this.#records.values()];
  }

  codeMismatch(): CodeMismatch[] {
    return [...this.#mismatch.values()];
  }

  /** Settles when no reconcile is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  close(): void {
    this.#closed = true;
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#reconcile();
        } while (this.#again && !this.#closed);
      } finally {
        this.#running = undefined;
      }
    })();
  }

  async #reconcile(): Promise<void> {
    const wanted = new Set<string>();
    for (const record of this.#records.values()) {
      // Every node deploys every application, with zero replicas where none were placed: its
      // proxy serves the routes and its routers reach the replicas of other nodes.
      const counts = this.#countsFor(record.name);
      try {
        const loaded = await this.#load(record);
        if (loaded.version !== record.codeVersion) {
          if (!this.#mismatch.has(record.name)) {
            this.#log.error(
              { app: record.name, expected: record.codeVersion, actual: loaded.version },
              `application "${record.name}": this node's code differs from the cluster's (version ${loaded.version}, expected ${record.codeVersion}); not serving it here`,
            );
          }
          this.#mismatch.set(record.name, { app: record.name, expected: record.codeVersion, actual: loaded.version });
          continue;
        }
        this.#mismatch.delete(record.name);
        wanted.add(record.name);
        const key = JSON.stringify([record.codeVersion, counts, record.deployments, record.routePrefix]);
        if (this.#applied.get(record.name)?.key === key) continue;
        const app = applyOverrides(loaded.app, nodeOverrides(record, counts), `application ${record.name}`);
        await this.#runtime.deploy(app, { name: record.name, routePrefix: record.routePrefix, wait: false });
        this.#applied.set(record.name, { key });
        this.#log.info({ app: record.name, replicas: counts }, `node ${this.#nodeId} runs ${JSON.stringify(counts)} of "${record.name}"`);
      } catch (err) {
        this.#log.error({ err, app: record.name }, `application "${record.name}" could not be deployed on this node`);
        // Retried on the next change; the leader sees no running replica here meanwhile.
      }
    }
    for (const name of [...this.#applied.keys()]) {
      if (wanted.has(name)) continue;
      this.#applied.delete(name);
      try {
        await this.#runtime.delete(name);
        this.#log.info({ app: name }, `node ${this.#nodeId} no longer runs "${name}"`);
      } catch (err) {
        this.#log.warn({ err, app: name }, `removing "${name}" from this node failed`);
      }
    }
    for (const name of [...this.#mismatch.keys()]) if (!this.#records.has(name)) this.#mismatch.delete(name);
  }

  #countsFor(app: string): Record<string, number> {
    const deployments = this.#placement?.apps[app]?.deployments ?? {};
    const out: Record<string, number> = {};
    for (const [name, p] of Object.entries(deployments)) out[name] = p.nodes[this.#nodeId] ?? 0;
    return out;
  }

  async #load(record: ApplicationRecord): Promise<{ app: Application; version: string }> {
    const key = JSON.stringify([record.importPath, record.args ?? {}, record.codeVersion]);
    const cached = this.#loaded.get(record.name);
    if (cached?.key === key) return cached;
    const { app } = await loadApplication(record.importPath, { cwd: process.cwd(), args: record.args, where: `application ${record.name}` });
    const loaded = { key, app, version: codeVersion(app, record.name) };
    this.#loaded.set(record.name, loaded);
    return loaded;
  }
}
