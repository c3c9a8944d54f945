export * from "./archive-limits.ts";
export * from "./clamav.ts";
export * from "./factory.ts";
export * from "./mock.ts";
export * from "./multi.ts";
export * from "./types.ts";
export * from "./virustotal.ts";
