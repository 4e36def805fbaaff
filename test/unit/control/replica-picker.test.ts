import { describe, expect, it } from "vitest";
import { replicaId } from "../../../src/runtime/ids.ts";
import { PowerOfTwoChoicesPicker } from "../../../src/runtime/replica-picker.ts";

function sequence(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

const c = (id: string, ongoing: number) => ({ id: replicaId(id), ongoing });

describe("PowerOfTwoChoicesPicker", () => {
  it.each([
    { name: "no candidates", candidates: [], random: [0.5], expected: undefined },
    { name: "one candidate", candidates: [c("a", 9)], random: [0.5], expected: "a" },
    { name: "less loaded of the two sampled (second)", candidates: [c("a", 3), c("b", 1), c("c", 0)], random: [0, 0], expected: "b" },
    { name: "less loaded of the two sampled (first)", candidates: [c("a", 3), c("b", 1), c("c", 0)], random: [0.99, 0], expected: "c" },
    { name: "never samples one replica twice", candidates: [c("a", 5), c("b", 7)], random: [0.1, 0.1], expected: "a" },
    { name: "a tie keeps the first sample", candidates: [c("a", 2), c("b", 2)], random: [0.9, 0.1], expected: "b" },
    { name: "ignores the unsampled least loaded one", candidates: [c("a", 4), c("b", 5), c("c", 0)], random: [0, 0], expected: "a" },
  ])("$name", ({ candidates, random, expected }) => {
    expect(new PowerOfTwoChoicesPicker(sequence(random)).pick(candidates)).toBe(expected);
  });

  it("spreads load: the busiest replica is never picked when others are sampled", () => {
    const picker = new PowerOfTwoChoicesPicker();
    const candidates = [c("a", 0), c("b", 0), c("hot", 10)];
    for (let i = 0; i < 200; i++) expect(picker.pick(candidates)).not.toBe("hot");
  });
});
