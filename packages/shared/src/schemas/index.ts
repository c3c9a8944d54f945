export * from "./common.ts";
export * from "./upload.ts";
