// Deployment: a class plus its validated options, immutable (`.options()` returns a new one), and
// Application: a deployment bound to constructor arguments (`.bind(...)`). Bound deployments
// among the arguments become handles inside the replica, which is how applications compose
// (Ray's `Adder.bind(Multiplier.bind(2), 3)`).

import {
  mergeDeploymentOptions,
  resolveDeploymentConfig,
  validateDeploymentOptions,
  type DeploymentConfig,
  type DeploymentOptions,
} from "./options.ts";
import type { HandleBase } from "./handle.ts";

/** Marks classes and deployment objects so the worker and `deploymentOf` can find the class. */
export const DEPLOYMENT = Symbol.for("stingray.deployment");
export const DEPLOYMENT_CLASS = Symbol.for("stingray.deploymentClass");

// biome-ignore lint: constructor parameter lists of any shape.
export type DeployableClass = abstract new (...args: any[]) => object;

/**
 * A constructor parameter typed DeploymentHandle<U> accepts a bound deployment of U, also inside
 * arrays and plain objects (the graph builder walks those too).
 */
export type BindArg<P> =
  P extends HandleBase<infer U>
    ? Application<U & object>
    : P extends readonly unknown[]
      ? { [I in keyof P]: BindArg<P[I]> }
      : P extends (...args: never[]) => unknown
        ? P
        : P extends object
          ? { [K in keyof P]: BindArg<P[K]> }
          : P;
export type BindArgs<A extends unknown[]> = { [I in keyof A]: BindArg<A[I]> };

export interface DeploymentSource {
  /** Name the worker looks the class up by (the registry key: the class's own name). */
  className: string;
  /** Absolute path of the module that declares the class. */
  modulePath: string;
}

export class Deployment<T extends object = object, A extends unknown[] = unknown[]> {
  readonly name: string;
  readonly className: string;
  readonly modulePath: string;
  readonly #cls: DeployableClass;
  readonly #options: DeploymentOptions;
  readonly #config: DeploymentConfig;

  /** @internal Built by `@deployment` and `deploymentOf`; options must already be validated. */
  constructor(cls: DeployableClass, source: DeploymentSource, options: DeploymentOptions) {
    this.#cls = cls;
    this.className = source.className;
    this.modulePath = source.modulePath;
    this.#options = Object.freeze({ ...options });
    this.name = options.name ?? source.className;
    this.#config = resolveDeploymentConfig(options);
  }

  get [DEPLOYMENT_CLASS](): DeployableClass {
    return this.#cls;
  }

  /** The user's class. */
  get cls(): DeployableClass {
    return this.#cls;
  }

  /** Options as declared (after `.options()` merges), without defaults. */
  get declaredOptions(): Readonly<DeploymentOptions> {
    return this.#options;
  }

  /** Options with every default applied, as the control plane runs them. */
  get config(): DeploymentConfig {
    return this.#config;
  }

  /** A copy with some options changed; `undefined` unsets a declared option. */
  options(overrides: DeploymentOptions): Deployment<T, A> {
    const where = `${this.name}.options()`;
    validateDeploymentOptions(stripUndefined(overrides), where);
    const merged = validateDeploymentOptions(mergeDeploymentOptions(this.#options, overrides), where);
    return new Deployment<T, A>(this.#cls, { className: this.className, modulePath: this.modulePath }, merged);
  }

  /** Binds constructor arguments, giving an application (graph) with this deployment as ingress. */
  bind(...args: BindArgs<A>): Application<T> {
    return new Application<T>(this as unknown as Deployment<T>, args);
  }

  toString(): string {
    return `Deployment(${this.name})`;
  }
}

export class Application<T extends object = object> {
  readonly deployment: Deployment<T>;
  readonly args: readonly unknown[];

  /** @internal Use `Deployment.bind(...)`. */
  constructor(deployment: Deployment<T>, args: readonly unknown[]) {
    this.deployment = deployment;
    this.args = Object.freeze([...args]);
  }

  get [DEPLOYMENT_CLASS](): DeployableClass {
    return this.deployment.cls;
  }

  toString(): string {
    return `Application(${this.deployment.name})`;
  }
}

export function isDeployment(value: unknown): value is Deployment {
  return value instanceof Deployment;
}

export function isApplication(value: unknown): value is Application {
  return value instanceof Application;
}

function stripUndefined(o: DeploymentOptions): DeploymentOptions {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (v !== undefined) out[k] = v;
  return out as DeploymentOptions;
}
