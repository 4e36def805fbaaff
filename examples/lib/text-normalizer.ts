// Text clean-up before translation: what a small CPU helper deployment does in the composition
// example. Pure functions, so they are tested without threads.

/** Unicode NFC, whitespace runs collapsed, trimmed, the first letter capitalised (the rest kept: "Paul", "English"). */
export function normalizeText(text: string): string {
  const collapsed = text.normalize("NFC").replace(/\s+/gu, " ").trim();
  if (collapsed === "") return "";
  const first = String.fromCodePoint(collapsed.codePointAt(0)!);
  return first.toUpperCase() + collapsed.slice(first.length);
}

/** Splits a block of text into phrases: one per non-empty line. */
export function splitLines(text: string): string[] {
  return text
    .split(/\r?\n/u)
    .map((line) => line.trim())
    .filter((line) => line !== "");
}
