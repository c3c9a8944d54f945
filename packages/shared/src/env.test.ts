import { describe, expect, it } from "vitest";
import { EnvError, parseEnv } from "./env.ts";

describe("[ENV]", () => {
  it("gives the embedded defaults of DESIGN §9 when nothing is set", () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/airlock",
      REDIS_URL: "redis://127.0.0.1:6379",
      PORT: 3000,
      STORAGE_DRIVER: "local",
      DATA_DIR: "./.data",
      SCANNER_PROVIDER: "mock",
      NODE_ENV: "development",
    });
  });

  it("coerces numbers, booleans and lists", () => {
    const env = parseEnv({
      PORT: "8080",
      S3_FORCE_PATH_STYLE: "false",
      CORS_ORIGINS: "http://a.test, http://b.test,",
      UPLOAD_ALLOWED_MIME: "image/png",
    });
    expect(env.PORT).toBe(8080);
    expect(env.S3_FORCE_PATH_STYLE).toBe(false);
    expect(env.CORS_ORIGINS).toEqual(["http://a.test", "http://b.test"]);
    expect(env.UPLOAD_ALLOWED_MIME).toEqual(["image/png"]);
  });

  it("treats an empty value as unset", () => {
    expect(parseEnv({ PORT: "" }).PORT).toBe(3000);
  });

  it("lists every invalid variable with its reason", () => {
    let error: unknown;
    try {
      parseEnv({ PORT: "eighty", DATABASE_URL: "mysql://x", MULTIPART_PART_SIZE_BYTES: "1024" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvError);
    const { issues, message } = error as EnvError;
    expect(issues).toHaveLength(3);
    expect(message).toMatch(/PORT: /);
    expect(message).toMatch(/DATABASE_URL: must be a postgresql:\/\/ URL/);
    expect(message).toMatch(/MULTIPART_PART_SIZE_BYTES: S3 requires parts of at least 5 MiB/);
  });

  it("refuses the mock scanner and a missing signing secret in production", () => {
    expect(() => parseEnv({ NODE_ENV: "production" })).toThrow(/SCANNER_PROVIDER: the mock scanner is for development/);
    expect(() => parseEnv({ NODE_ENV: "production", SCANNER_PROVIDER: "clamav" })).toThrow(
      /STORAGE_SIGNING_SECRET: required in production/,
    );
    expect(parseEnv({ NODE_ENV: "production", SCANNER_PROVIDER: "clamav", STORAGE_SIGNING_SECRET: "x".repeat(32) }).NODE_ENV).toBe(
      "production",
    );
  });

  it("requires credentials for the s3 driver", () => {
    expect(() => parseEnv({ STORAGE_DRIVER: "s3" })).toThrow(/S3_ACCESS_KEY_ID: required when STORAGE_DRIVER=s3/);
  });
});
