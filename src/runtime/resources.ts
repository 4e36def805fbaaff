// Resource accounting for one node: what it offers (CPU, GPU, memory, custom names), what replicas
// reserve, and which concrete GPU ids a reservation gets.
//
// Amounts are kept as fixed-point integers in 1/10000 units (as Ray's FixedPoint does), so ten
// reservations of 0.1 CPU add up to exactly 1 CPU and release returns exactly what was taken.
// Capacities are *logical*: the user may override what is detected (`numGpus: 2` on a CPU-only
// laptop, like `ray start --num-gpus`), and GPU ids are bookkeeping handed to the replica, never
// CUDA_VISIBLE_DEVICES (a worker's env is invisible to native code).
//
// Units: CPU and GPU in devices, `memory` in megabytes (MB, 2^20 bytes), custom resources in
// whatever unit the user means.

import { execFile } from "node:child_process";
import os from "node:os";
import { InvalidOptionsError, ResourceUnavailableError } from "../errors.ts";

/** Fixed-point units per whole resource unit. */
export const RESOURCE_SCALE = 10_000;
export const CPU = "CPU";
export const GPU = "GPU";
export const MEMORY = "memory";

const RESERVED_NAMES = new Set([CPU, GPU, MEMORY]);
const MAX_AMOUNT = Math.floor(Number.MAX_SAFE_INTEGER / RESOURCE_SCALE);

/**
 * Converts a user amount to fixed point, rounding to the nearest 1/10000. Rejects negatives,
 * non-numbers and amounts too large to stay exact; `option` names the offending option.
 */
export function toFixedPoint(amount: unknown, option: string): number {
  if (typeof amount !== "number" || !Number.isFinite(amount)) {
    throw new InvalidOptionsError(`${option} must be a finite number, got ${describe(amount)}`);
  }
  if (amount < 0) throw new InvalidOptionsError(`${option} must be >= 0, got ${amount}`);
  if (amount > MAX_AMOUNT) throw new InvalidOptionsError(`${option} must be <= ${MAX_AMOUNT}, got ${amount}`);
  const fixed = Math.round(amount * RESOURCE_SCALE);
  if (fixed === 0 && amount > 0) {
    throw new InvalidOptionsError(`${option} must be 0 or at least ${1 / RESOURCE_SCALE}, got ${amount}`);
  }
  return fixed;
}

export function fromFixedPoint(fixed: number): number {
  return fixed / RESOURCE_SCALE;
}

/** An immutable set of resource amounts (absent = 0). */
export class Resources {
  readonly #fixed: ReadonlyMap<string, number>;

  private constructor(fixed: Map<string, number>) {
    this.#fixed = fixed;
  }

  static empty(): Resources {
    return new Resources(new Map());
  }

  /** Builds from user units; `option` prefixes each name in error messages (e.g. "resources"). */
  static from(amounts: Readonly<Record<string, number | undefined>>, option = "resources"): Resources {
    if (amounts === null || typeof amounts !== "object") {
      throw new InvalidOptionsError(`${option} must be an object of name → amount`);
    }
    const fixed = new Map<string, number>();
    for (const [name, amount] of Object.entries(amounts)) {
      if (amount === undefined) continue;
      if (name.length === 0) throw new InvalidOptionsError(`${option} has an empty resource name`);
      const value = toFixedPoint(amount, `${option}.${name}`);
      if (value > 0) fixed.set(name, value);
    }
    return new Resources(fixed);
  }

  /** One resource; `option` is the full option name used in error messages. */
  static single(name: string, amount: number | undefined, option: string): Resources {
    const fixed = new Map<string, number>();
    if (amount !== undefined) {
      const value = toFixedPoint(amount, option);
      if (value > 0) fixed.set(name, value);
    }
    return new Resources(fixed);
  }

  /** Amount of `name` in user units. */
  get(name: string): number {
    return fromFixedPoint(this.#fixed.get(name) ?? 0);
  }

  /** Amount of `name` in fixed-point units. */
  getFixed(name: string): number {
    return this.#fixed.get(name) ?? 0;
  }

  /** Names with a non-zero amount. */
  names(): string[] {
    return [...this.#fixed.keys()];
  }

  get isEmpty(): boolean {
    return this.#fixed.size === 0;
  }

  add(other: Resources): Resources {
    const out = new Map(this.#fixed);
    for (const name of other.names()) out.set(name, (out.get(name) ?? 0) + other.getFixed(name));
    return new Resources(out);
  }

  /** Subtracts; going below zero is a bookkeeping bug, so it throws instead of clamping. */
  subtract(other: Resources): Resources {
    const out = new Map(this.#fixed);
    for (const name of other.names()) {
      const left = (out.get(name) ?? 0) - other.getFixed(name);
      if (left < 0) throw new RangeError(`resource ${name} would go negative (${fromFixedPoint(left)})`);
      if (left === 0) out.delete(name);
      else out.set(name, left);
    }
    return new Resources(out);
  }

  /** The first resource `request` asks for more of than this set holds, or undefined if it fits. */
  shortfall(request: Resources): { resource: string; requested: number; available: number } | undefined {
    for (const name of request.names()) {
      if (request.getFixed(name) > this.getFixed(name)) {
        return { resource: name, requested: request.get(name), available: this.get(name) };
      }
    }
    return undefined;
  }

  equals(other: Resources): boolean {
    const names = new Set([...this.names(), ...other.names()]);
    for (const name of names) if (this.getFixed(name) !== other.getFixed(name)) return false;
    return true;
  }

  /** Plain user-unit amounts, e.g. `{ CPU: 0.2, GPU: 0.5 }`. */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, fixed] of this.#fixed) out[name] = fromFixedPoint(fixed);
    return out;
  }
}

/** What a replica asks for, in the option names of `actorOptions`. */
export interface ActorResourceOptions {
  numCpus?: number;
  numGpus?: number;
  memoryMb?: number;
  resources?: Record<string, number>;
}

/**
 * Turns actor options into a resource request. Ray's rule for GPUs applies: a request above one
 * GPU must be whole, since a fraction is only meaningful as a share of one device.
 */
export function resourcesFromActorOptions(options: ActorResourceOptions, prefix = "actorOptions"): Resources {
  const amounts: Record<string, number | undefined> = {};
  for (const [name, amount] of Object.entries(options.resources ?? {})) {
    if (RESERVED_NAMES.has(name)) {
      throw new InvalidOptionsError(
        `${prefix}.resources.${name} is reserved: use ${prefix}.${optionFor(name)} instead`,
      );
    }
    amounts[name] = amount;
  }
  let request = Resources.from(amounts, `${prefix}.resources`);
  request = request.add(Resources.single(CPU, options.numCpus, `${prefix}.numCpus`));
  request = request.add(Resources.single(GPU, options.numGpus, `${prefix}.numGpus`));
  request = request.add(Resources.single(MEMORY, options.memoryMb, `${prefix}.memoryMb`));
  const gpu = request.getFixed(GPU);
  if (gpu > RESOURCE_SCALE && gpu % RESOURCE_SCALE !== 0) {
    throw new InvalidOptionsError(
      `${prefix}.numGpus must be at most 1 or a whole number, got ${fromFixedPoint(gpu)}`,
    );
  }
  return request;
}

function optionFor(name: string): string {
  return name === CPU ? "numCpus" : name === GPU ? "numGpus" : "memoryMb";
}

// ---------------------------------------------------------------------------------------------
// Node capacity

export interface NodeResourceOverrides {
  numCpus?: number;
  /** Logical GPUs; must be whole. Ids are the detected ones when there are enough, else 0..n-1. */
  numGpus?: number;
  memoryMb?: number;
  /** Custom named resources (e.g. `{ accelerator_x: 4 }`). */
  resources?: Record<string, number>;
}

export interface NodeResources {
  total: Resources;
  /** Concrete GPU ids replicas may be given; length equals the GPU capacity. */
  gpuIds: readonly number[];
}

export interface DetectNodeResourcesOptions {
  overrides?: NodeResourceOverrides;
  /** GPU ids present on this machine, or undefined when there is no GPU tool. Default: nvidia-smi. */
  queryGpuIds?: () => Promise<number[] | undefined>;
  cpuCount?: () => number;
  totalMemoryMb?: () => number;
}

/** Detects this node's capacity, then applies the user's overrides (which always win). */
export async function detectNodeResources(options: DetectNodeResourcesOptions = {}): Promise<NodeResources> {
  const overrides = options.overrides ?? {};
  const cpus = overrides.numCpus ?? (options.cpuCount ?? defaultCpuCount)();
  const memoryMb = overrides.memoryMb ?? (options.totalMemoryMb ?? defaultTotalMemoryMb)();
  const detectedGpuIds = (await (options.queryGpuIds ?? queryNvidiaSmiGpuIds)()) ?? [];

  let gpuIds: number[] = detectedGpuIds;
  if (overrides.numGpus !== undefined) {
    const n = overrides.numGpus;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
      throw new InvalidOptionsError(`numGpus must be a whole number >= 0, got ${describe(n)}`);
    }
    gpuIds = detectedGpuIds.length >= n ? detectedGpuIds.slice(0, n) : range(n);
  }
  for (const name of Object.keys(overrides.resources ?? {})) {
    if (RESERVED_NAMES.has(name)) {
      throw new InvalidOptionsError(`resources.${name} is reserved: use ${optionFor(name)} instead`);
    }
  }
  const total = Resources.from(overrides.resources ?? {}, "resources")
    .add(Resources.single(CPU, cpus, "numCpus"))
    .add(Resources.single(GPU, gpuIds.length, "numGpus"))
    .add(Resources.single(MEMORY, memoryMb, "memoryMb"));
  return { total, gpuIds };
}

function defaultCpuCount(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

function defaultTotalMemoryMb(): number {
  return Math.floor(os.totalmem() / 2 ** 20);
}

/**
 * Lists GPU indices with `nvidia-smi`, restricted to CUDA_VISIBLE_DEVICES when that is a list of
 * indices. Resolves undefined when the tool is missing or fails (a CPU-only machine).
 */
export function queryNvidiaSmiGpuIds(
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 5_000,
): Promise<number[] | undefined> {
  return new Promise((resolve) => {
    execFile(
      "nvidia-smi",
      ["--query-gpu=index", "--format=csv,noheader"],
      { timeout: timeoutMs, windowsHide: true },
      (err, stdout) => {
        if (err) return resolve(undefined);
        resolve(filterVisibleGpus(parseNvidiaSmiIndices(stdout), env.CUDA_VISIBLE_DEVICES));
      },
    );
  });
}

/** Parses `nvidia-smi --query-gpu=index --format=csv,noheader` output. */
export function parseNvidiaSmiIndices(stdout: string): number[] {
  return stdout
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => /^\d+$/.test(line))
    .map(Number);
}

/** Keeps the ids CUDA_VISIBLE_DEVICES names (when it is a list of indices; UUIDs are left alone). */
export function filterVisibleGpus(ids: number[], visible: string | undefined): number[] {
  if (visible === undefined) return ids;
  const trimmed = visible.trim();
  if (trimmed === "") return [];
  const parts = trimmed.split(",").map((p) => p.trim());
  if (!parts.every((p) => /^\d+$/.test(p))) return ids;
  const present = new Set(ids);
  return parts.map(Number).filter((id) => present.has(id));
}

// ---------------------------------------------------------------------------------------------
// Reservations

/** What one replica holds: its resources and the GPU ids it was given. */
export interface Reservation {
  readonly id: number;
  readonly resources: Resources;
  /** Fractional requests share an id with others; a request of n whole GPUs gets n ids to itself. */
  readonly gpuIds: readonly number[];
}

export type PlacementDecision =
  | { ok: true; gpuIds: number[] }
  | { ok: false; resource: string; requested: number; available: number; reason: string };

/**
 * A node's capacity minus what is reserved. GPU shares are tracked per device so that two 0.5
 * requests land on one id (best fit: the fullest device that still fits) and a whole request only
 * takes devices nobody uses.
 */
export class ResourcePool {
  readonly #total: Resources;
  #available: Resources;
  readonly #gpuFree = new Map<number, number>();
  readonly #held = new Map<number, Reservation>();
  #nextId = 1;

  constructor(node: NodeResources) {
    if (node.total.getFixed(GPU) !== node.gpuIds.length * RESOURCE_SCALE) {
      throw new InvalidOptionsError(
        `numGpus (${node.total.get(GPU)}) must equal the number of GPU ids (${node.gpuIds.length})`,
      );
    }
    this.#total = node.total;
    this.#available = node.total;
    for (const id of node.gpuIds) this.#gpuFree.set(id, RESOURCE_SCALE);
  }

  get total(): Resources {
    return this.#total;
  }

  get available(): Resources {
    return this.#available;
  }

  /** Reservations currently held. */
  get reservations(): Reservation[] {
    return [...this.#held.values()];
  }

  /** Whether `request` fits now, and on which GPU ids; changes nothing. */
  check(request: Resources): PlacementDecision {
    const short = this.#available.shortfall(request);
    if (short) {
      const neverFits = this.#total.shortfall(request) !== undefined;
      return {
        ok: false,
        ...short,
        reason: neverFits
          ? `the node has only ${this.#total.get(short.resource)} ${short.resource} in total`
          : `${short.resource} is held by other replicas`,
      };
    }
    const gpu = request.getFixed(GPU);
    if (gpu === 0) return { ok: true, gpuIds: [] };
    if (gpu < RESOURCE_SCALE) {
      let best: number | undefined;
      for (const [id, free] of this.#gpuFree) {
        if (free < gpu) continue;
        if (best === undefined || free < this.#gpuFree.get(best)!) best = id;
      }
      if (best !== undefined) return { ok: true, gpuIds: [best] };
      return {
        ok: false,
        resource: GPU,
        requested: request.get(GPU),
        available: fromFixedPoint(Math.max(0, ...this.#gpuFree.values())),
        reason: `no single GPU has ${request.get(GPU)} free (the free GPU share is split across devices)`,
      };
    }
    if (gpu % RESOURCE_SCALE !== 0) {
      throw new InvalidOptionsError(`numGpus must be at most 1 or a whole number, got ${request.get(GPU)}`);
    }
    const whole = gpu / RESOURCE_SCALE;
    const idle = [...this.#gpuFree].filter(([, free]) => free === RESOURCE_SCALE).map(([id]) => id);
    if (idle.length >= whole) return { ok: true, gpuIds: idle.slice(0, whole) };
    return {
      ok: false,
      resource: GPU,
      requested: whole,
      available: idle.length,
      reason: `only ${idle.length} GPU(s) are wholly free (others are partly used by fractional replicas)`,
    };
  }

  /** Reserves `request`, or throws ResourceUnavailableError naming the short resource. */
  reserve(request: Resources): Reservation {
    const decision = this.check(request);
    if (!decision.ok) {
      const err = new ResourceUnavailableError(decision.resource, decision.requested, decision.available);
      err.message = `${err.message}: ${decision.reason}`;
      throw err;
    }
    const gpu = request.getFixed(GPU);
    const share = decision.gpuIds.length === 1 ? gpu : RESOURCE_SCALE;
    for (const id of decision.gpuIds) this.#gpuFree.set(id, this.#gpuFree.get(id)! - share);
    this.#available = this.#available.subtract(request);
    const reservation: Reservation = { id: this.#nextId++, resources: request, gpuIds: decision.gpuIds };
    this.#held.set(reservation.id, reservation);
    return reservation;
  }

  /** Gives a reservation back. Releasing one twice is a no-op, so cleanup paths may overlap. */
  release(reservation: Reservation): void {
    if (!this.#held.delete(reservation.id)) return;
    const gpu = reservation.resources.getFixed(GPU);
    const share = reservation.gpuIds.length === 1 ? gpu : RESOURCE_SCALE;
    for (const id of reservation.gpuIds) this.#gpuFree.set(id, this.#gpuFree.get(id)! + share);
    this.#available = this.#available.add(reservation.resources);
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function describe(v: unknown): string {
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return JSON.stringify(v);
  return v === null ? "null" : typeof v;
}
