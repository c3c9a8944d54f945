import { getEnv } from "@airlock/shared/env";
import { closeQueues, createQueues } from "@airlock/shared/queue-client";
import { createRedis } from "@airlock/shared/redis";
import { expect, it } from "vitest";
import { scheduleJobs } from "./schedules.ts";

it("[WORKER][SCHEDULES] two worker starts leave exactly one schedule per job", async () => {
  const env = getEnv();
  const redis = createRedis(env.REDIS_URL);
  const queues = createQueues(redis, env.REDIS_PREFIX);
  try {
    await scheduleJobs(queues);
    await scheduleJobs(queues);
    const cleanup = await queues["upload-cleanup"].getJobSchedulers();
    const reconcile = await queues["upload-reconcile"].getJobSchedulers();
    expect(cleanup.map((s) => s.key)).toEqual(["cleanup-hourly"]);
    expect(cleanup[0]?.pattern).toBe("0 * * * *");
    expect(reconcile.map((s) => s.key)).toEqual(["reconcile-every-minute"]);
    expect((await queues["alerts-evaluate"].getJobSchedulers()).map((s) => s.key)).toEqual(["alerts-every-minute"]);
  } finally {
    await closeQueues(queues);
    redis.disconnect();
  }
});
