// stingray's one public entry point.
export * from "./errors.ts";
