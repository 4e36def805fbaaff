// `@deployment(options)`: the TC39 standard class decorator that turns a class into a deployment.
// It validates options when the class is declared (so a typo fails at import, naming the option),
// records the declaring module's file (the worker imports it to rebuild the class), registers the
// class by name for the worker, and adds Ray-style statics: `Cls.bind(...)`, `Cls.options(...)`,
// `Cls.deploymentName`.
//
// Typing: a decorator cannot change a class's static type, so in strict TypeScript `Cls.bind()`
// does not type-check. The typed path, used throughout this project's tests and examples, is
// `deploymentOf(Cls)` (a typed Deployment) and `bind(Cls, ...args)` (a typed Application):
//
//   @deployment({ numReplicas: 2 })
//   class Adder { constructor(private n: number) {} add(x: number) { return x + this.n; } }
//   export const app = bind(Adder, 3);                 // typed; same as Adder.bind(3) at run time
//   const fast = deploymentOf(Adder).options({ maxOngoingRequests: 10 }).bind(3);
//
// Plain JavaScript (or TypeScript that casts) can keep writing `Adder.bind(3)`.

import { InvalidOptionsError } from "../errors.ts";
import { callerModulePath } from "./caller-module.ts";
import { DEPLOYMENT, Deployment, type Application, type BindArgs, type DeployableClass } from "./deployment.ts";
import { validateDeploymentOptions, type DeploymentOptions } from "./options.ts";
import { registerDeploymentClass } from "./registry.ts";

type ClassDecorator<C extends DeployableClass> = (cls: C, context: ClassDecoratorContext<C>) => void;

export function deployment<C extends DeployableClass>(options?: DeploymentOptions): ClassDecorator<C>;
export function deployment<C extends DeployableClass>(cls: C, context: ClassDecoratorContext<C>): void;
export function deployment<C extends DeployableClass>(
  optionsOrClass?: DeploymentOptions | C,
  maybeContext?: ClassDecoratorContext<C>,
): ClassDecorator<C> | void {
  if (typeof optionsOrClass === "function") {
    // Used bare, as `@deployment` without parentheses.
    return decorate(optionsOrClass, maybeContext?.name, {}, callerModulePath());
  }
  const options = validateDeploymentOptions(optionsOrClass ?? {}, "@deployment");
  return (cls: C, context: ClassDecoratorContext<C>) => {
    if (context?.kind !== "class") throw new InvalidOptionsError("@deployment can only decorate a class");
    decorate(cls, context.name, options, callerModulePath());
  };
}

function decorate(cls: DeployableClass, name: string | undefined, options: DeploymentOptions, modulePath: string | undefined): void {
  const className = name ?? cls.name;
  if (!className) throw new InvalidOptionsError("@deployment needs a named class (or the `name` option)");
  if (!modulePath) {
    throw new InvalidOptionsError(`@deployment ${className}: could not tell which module declares the class`);
  }
  // Re-validate with the class name in the message now that we know it.
  const validated = validateDeploymentOptions(options, `@deployment ${className}`);
  const d = new Deployment(cls, { className, modulePath }, validated);
  attach(cls, d);
  registerDeploymentClass(className, cls);
}

function attach(cls: DeployableClass, d: Deployment): void {
  const statics: PropertyDescriptorMap = {
    [DEPLOYMENT]: { value: d, configurable: true },
    // Shadows Function.prototype.bind on purpose: Ray's `Cls.bind(...)` builds an application.
    bind: { value: (...args: unknown[]) => d.bind(...args), configurable: true, writable: true },
    options: { value: (o: DeploymentOptions) => d.options(o), configurable: true, writable: true },
    deploymentName: { value: d.name, configurable: true },
  };
  Object.defineProperties(cls, statics);
}

/**
 * The typed Deployment of a class. For a decorated class it is the decorator's deployment (with
 * `options` applied, if given). An undecorated class becomes a deployment here; then this must be
 * called at the top level of the module that declares the class, since that module is what the
 * worker imports.
 */
export function deploymentOf<C extends DeployableClass>(
  cls: C,
  options?: DeploymentOptions,
): Deployment<InstanceType<C>, ConstructorParameters<C>> {
  type D = Deployment<InstanceType<C>, ConstructorParameters<C>>;
  if (typeof cls !== "function") throw new InvalidOptionsError("deploymentOf expects a class");
  const existing = (cls as unknown as { [DEPLOYMENT]?: Deployment })[DEPLOYMENT];
  if (existing instanceof Deployment) {
    return (options ? existing.options(options) : existing) as unknown as D;
  }
  decorate(cls, cls.name, validateDeploymentOptions(options ?? {}, `deploymentOf(${cls.name})`), callerModulePath());
  return (cls as unknown as { [DEPLOYMENT]: D })[DEPLOYMENT];
}

/** Typed `Cls.bind(...args)`: binds constructor arguments into an application. */
export function bind<C extends DeployableClass>(
  cls: C,
  ...args: BindArgs<ConstructorParameters<C>>
): Application<InstanceType<C>> {
  return deploymentOf(cls).bind(...args);
}
