export * from "./content-disposition.ts";
export * from "./driver.ts";
export * from "./factory.ts";
export * from "./s3.ts";
