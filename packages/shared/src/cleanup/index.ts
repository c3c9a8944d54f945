export * from "./run-cleanup.ts";
