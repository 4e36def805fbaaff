import { describe, expect, it } from "vitest";
import { ErrorCode, InvalidOptionsError, ResourceUnavailableError } from "../../../src/errors.ts";
import {
  Resources,
  ResourcePool,
  detectNodeResources,
  filterVisibleGpus,
  parseNvidiaSmiIndices,
  resourcesFromActorOptions,
  toFixedPoint,
  type NodeResources,
} from "../../../src/runtime/resources.ts";

function node(total: Record<string, number>, gpuIds?: number[]): NodeResources {
  return { total: Resources.from(total), gpuIds: gpuIds ?? Array.from({ length: total.GPU ?? 0 }, (_, i) => i) };
}

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a throw");
}

describe("fixed point", () => {
  it.each([
    [0, 0],
    [1, 10_000],
    [0.5, 5_000],
    [0.0001, 1],
    [0.33333, 3_333],
    [2.00004, 20_000],
  ])("toFixedPoint(%s) = %s", (amount, fixed) => {
    expect(toFixedPoint(amount, "x")).toBe(fixed);
  });

  it.each([
    [-1, "numCpus must be >= 0"],
    [Number.NaN, "numCpus must be a finite number"],
    [Number.POSITIVE_INFINITY, "numCpus must be a finite number"],
    ["2", "numCpus must be a finite number, got \"2\""],
    [0.00001, "numCpus must be 0 or at least 0.0001"],
    [1e15, "numCpus must be <="],
  ])("rejects %s naming the option", (amount, message) => {
    const err = catchError(() => toFixedPoint(amount, "numCpus"));
    expect(err).toBeInstanceOf(InvalidOptionsError);
    expect((err as InvalidOptionsError).code).toBe(ErrorCode.INVALID_OPTIONS);
    expect(err.message).toContain(message);
  });

  it("adds ten 0.1 CPU reservations up to exactly 1 CPU", () => {
    let sum = Resources.empty();
    for (let i = 0; i < 10; i++) sum = sum.add(Resources.from({ CPU: 0.1 }));
    expect(sum.get("CPU")).toBe(1);
    expect(sum.equals(Resources.from({ CPU: 1 }))).toBe(true);
    expect(0.1 * 10 === 1 && 0.1 + 0.2 !== 0.3).toBe(true); // why fixed point is needed
    expect(Resources.from({ CPU: 0.1 }).add(Resources.from({ CPU: 0.2 })).get("CPU")).toBe(0.3);
  });

  it("subtracting below zero is a bookkeeping error", () => {
    expect(() => Resources.from({ CPU: 1 }).subtract(Resources.from({ CPU: 1.5 }))).toThrow(RangeError);
  });

  it.each([
    [{ CPU: 2 }, { CPU: 1 }, undefined],
    [{ CPU: 2 }, { CPU: 2.5 }, { resource: "CPU", requested: 2.5, available: 2 }],
    [{ CPU: 2 }, { GPU: 0.5 }, { resource: "GPU", requested: 0.5, available: 0 }],
    [{ CPU: 2, accel: 1 }, { accel: 1 }, undefined],
  ])("shortfall of %j for %j is %j", (have, want, expected) => {
    expect(Resources.from(have).shortfall(Resources.from(want))).toEqual(expected);
  });

  it("toJSON gives user units and drops zeros", () => {
    expect(Resources.from({ CPU: 0.25, GPU: 0, memory: 512 }).toJSON()).toEqual({ CPU: 0.25, memory: 512 });
  });
});

describe("resourcesFromActorOptions", () => {
  it.each([
    [{}, {}],
    [{ numCpus: 0.2 }, { CPU: 0.2 }],
    [{ numCpus: 1, numGpus: 0.5, memoryMb: 256 }, { CPU: 1, GPU: 0.5, memory: 256 }],
    [{ numGpus: 2 }, { GPU: 2 }],
    [{ resources: { tpu: 0.25 } }, { tpu: 0.25 }],
  ])("%j → %j", (options, expected) => {
    expect(resourcesFromActorOptions(options).toJSON()).toEqual(expected);
  });

  it.each([
    [{ numGpus: 1.5 }, "actorOptions.numGpus must be at most 1 or a whole number"],
    [{ numCpus: -0.1 }, "actorOptions.numCpus must be >= 0"],
    [{ memoryMb: Number.NaN }, "actorOptions.memoryMb must be a finite number"],
    [{ resources: { GPU: 1 } }, "actorOptions.resources.GPU is reserved: use actorOptions.numGpus"],
    [{ resources: { tpu: -1 } }, "actorOptions.resources.tpu must be >= 0"],
  ])("%j is rejected: %s", (options, message) => {
    const err = catchError(() => resourcesFromActorOptions(options));
    expect(err).toBeInstanceOf(InvalidOptionsError);
    expect(err.message).toContain(message);
  });
});

describe("ResourcePool placement", () => {
  type Step = [request: Record<string, number>, expected: number[] | string];
  const cases: Array<[name: string, total: Record<string, number>, steps: Step[]]> = [
    ["two 0.5 GPU replicas share one id", { CPU: 4, GPU: 2 }, [[{ GPU: 0.5 }, [0]], [{ GPU: 0.5 }, [0]], [{ GPU: 0.5 }, [1]]]],
    ["a whole GPU replica takes a free device", { CPU: 4, GPU: 2 }, [[{ GPU: 0.5 }, [0]], [{ GPU: 1 }, [1]], [{ GPU: 0.5 }, [0]]]],
    ["best fit packs fractions", { CPU: 4, GPU: 2 }, [[{ GPU: 0.3 }, [0]], [{ GPU: 0.6 }, [0]], [{ GPU: 0.2 }, [1]], [{ GPU: 0.1 }, [0]]]],
    ["two whole GPUs", { CPU: 4, GPU: 3 }, [[{ GPU: 2 }, [0, 1]], [{ GPU: 1 }, [2]], [{ GPU: 0.1 }, "GPU"]]],
    ["fragmented GPUs cannot hold a whole one", { CPU: 4, GPU: 2 }, [[{ GPU: 0.5 }, [0]], [{ GPU: 0.6 }, [1]], [{ GPU: 1 }, "GPU"]]],
    ["fragmented shares cannot hold a 0.6", { CPU: 4, GPU: 2 }, [[{ GPU: 0.6 }, [0]], [{ GPU: 0.6 }, [1]], [{ GPU: 0.6 }, "GPU"]]],
    ["CPU runs out first", { CPU: 1, GPU: 1 }, [[{ CPU: 0.6, GPU: 0.1 }, [0]], [{ CPU: 0.6 }, "CPU"]]],
    ["ten 0.1 CPU fit exactly in 1 CPU", { CPU: 1 }, [...Array.from({ length: 10 }, (): Step => [{ CPU: 0.1 }, []]), [{ CPU: 0.0001 }, "CPU"]]],
    ["logical GPUs on a CPU-only machine", { CPU: 1, GPU: 1 }, [[{ CPU: 0.1, GPU: 0.5 }, [0]], [{ CPU: 0.1, GPU: 0.5 }, [0]]]],
    ["custom resources", { CPU: 1, accel: 2 }, [[{ accel: 1.5 }, []], [{ accel: 1 }, "accel"]]],
    ["memory in MB", { CPU: 1, memory: 1024 }, [[{ memory: 1000 }, []], [{ memory: 25 }, "memory"]]],
  ];

  it.each(cases)("%s", (_name, total, steps) => {
    const pool = new ResourcePool(node(total));
    for (const [request, expected] of steps) {
      const req = Resources.from(request);
      if (typeof expected === "string") {
        const decision = pool.check(req);
        expect(decision.ok).toBe(false);
        if (!decision.ok) expect(decision.resource).toBe(expected);
        const err = catchError(() => pool.reserve(req));
        expect(err).toBeInstanceOf(ResourceUnavailableError);
        expect((err as ResourceUnavailableError).code).toBe(ErrorCode.RESOURCE_UNAVAILABLE);
        expect((err as ResourceUnavailableError).resource).toBe(expected);
        expect(err.message).toContain(`not enough ${expected}`);
      } else {
        expect(pool.reserve(req).gpuIds).toEqual(expected);
      }
    }
  });

  it("release returns exactly what was reserved, and twice is a no-op", () => {
    const pool = new ResourcePool(node({ CPU: 1, GPU: 1, memory: 100 }));
    const held = Array.from({ length: 3 }, () => pool.reserve(Resources.from({ CPU: 0.3, GPU: 0.3, memory: 1 })));
    expect(pool.available.toJSON()).toEqual({ CPU: 0.1, GPU: 0.1, memory: 97 });
    for (const r of held) pool.release(r);
    pool.release(held[0]!);
    expect(pool.available.equals(pool.total)).toBe(true);
    expect(pool.reservations).toEqual([]);
    // The device is wholly free again, so a whole-GPU request fits.
    expect(pool.reserve(Resources.from({ GPU: 1 })).gpuIds).toEqual([0]);
  });

  it("says whether a request could never fit or is held by others", () => {
    const pool = new ResourcePool(node({ CPU: 1 }));
    const never = pool.check(Resources.from({ GPU: 0.5 }));
    expect(never).toMatchObject({ ok: false, resource: "GPU", reason: "the node has only 0 GPU in total" });
    pool.reserve(Resources.from({ CPU: 1 }));
    expect(pool.check(Resources.from({ CPU: 0.5 }))).toMatchObject({
      ok: false,
      resource: "CPU",
      requested: 0.5,
      available: 0,
      reason: "CPU is held by other replicas",
    });
  });

  it("uses the node's concrete GPU ids", () => {
    const pool = new ResourcePool(node({ GPU: 2 }, [3, 5]));
    expect(pool.reserve(Resources.from({ GPU: 1 })).gpuIds).toEqual([3]);
    expect(pool.reserve(Resources.from({ GPU: 0.5 })).gpuIds).toEqual([5]);
  });

  it("rejects a node whose GPU count and ids disagree", () => {
    expect(() => new ResourcePool(node({ GPU: 2 }, [0]))).toThrow(/numGpus \(2\) must equal the number of GPU ids \(1\)/);
  });
});

describe("detectNodeResources", () => {
  const fixed = { cpuCount: () => 8, totalMemoryMb: () => 16_384 };

  it.each([
    ["CPU-only machine", undefined, {}, { CPU: 8, memory: 16_384 }, []],
    ["two detected GPUs", [0, 1], {}, { CPU: 8, GPU: 2, memory: 16_384 }, [0, 1]],
    ["logical GPUs on a CPU-only laptop", undefined, { numGpus: 2 }, { CPU: 8, GPU: 2, memory: 16_384 }, [0, 1]],
    ["fewer GPUs than detected", [2, 3, 4], { numGpus: 1 }, { CPU: 8, GPU: 1, memory: 16_384 }, [2]],
    ["GPUs hidden", [0, 1], { numGpus: 0 }, { CPU: 8, memory: 16_384 }, []],
    [
      "CPU, memory and custom overrides",
      undefined,
      { numCpus: 2.5, memoryMb: 1000, resources: { accel: 3 } },
      { CPU: 2.5, memory: 1000, accel: 3 },
      [],
    ],
  ] as const)("%s", async (_name, detected, overrides, total, gpuIds) => {
    const info = await detectNodeResources({
      ...fixed,
      overrides,
      queryGpuIds: async () => (detected ? [...detected] : undefined),
    });
    expect(info.total.toJSON()).toEqual(total);
    expect(info.gpuIds).toEqual(gpuIds);
  });

  it.each([
    [{ numGpus: 0.5 }, "numGpus must be a whole number >= 0, got 0.5"],
    [{ numCpus: -1 }, "numCpus must be >= 0"],
    [{ resources: { CPU: 4 } }, "resources.CPU is reserved: use numCpus"],
    [{ resources: { accel: Number.NaN } }, "resources.accel must be a finite number"],
  ])("rejects %j", async (overrides, message) => {
    await expect(
      detectNodeResources({ ...fixed, overrides, queryGpuIds: async () => undefined }),
    ).rejects.toThrow(message);
  });

  it("defaults to the machine's cores and memory", async () => {
    const info = await detectNodeResources({ queryGpuIds: async () => undefined });
    expect(info.total.get("CPU")).toBeGreaterThanOrEqual(1);
    expect(info.total.get("memory")).toBeGreaterThan(0);
  });

  it.each([
    ["0\n1\n", [0, 1]],
    ["0\r\n", [0]],
    ["", []],
    ["No devices were found\n", []],
  ])("parses nvidia-smi output %j", (stdout, ids) => {
    expect(parseNvidiaSmiIndices(stdout)).toEqual(ids);
  });

  it.each([
    [[0, 1, 2], undefined, [0, 1, 2]],
    [[0, 1, 2], "2,0", [2, 0]],
    [[0, 1, 2], "", []],
    [[0, 1], "5", []],
    [[0, 1], "GPU-1234-abcd", [0, 1]],
  ])("CUDA_VISIBLE_DEVICES filters %j by %j", (ids, visible, expected) => {
    expect(filterVisibleGpus(ids, visible)).toEqual(expected);
  });
});
