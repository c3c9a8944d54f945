export * from "./content-check.ts";
export * from "./file-types.ts";
export * from "./filename.ts";
