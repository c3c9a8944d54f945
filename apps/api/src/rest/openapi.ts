/**
 * OpenAPI 3.1 description of the admin REST façade (served at GET /api/admin/openapi.json, without
 * authentication: it describes, it discloses nothing). Kept by hand next to admin-rest.ts; the REST
 * integration test checks that every route of the façade is described here.
 */
const day = { type: "string", format: "date", pattern: "^\\d{4}-\\d{2}-\\d{2}$" } as const;
const rangeParameters = [
  {
    name: "from",
    in: "query",
    required: false,
    description: "First UTC day of the range, included (default: `to` − 29 days).",
    schema: day,
  },
  { name: "to", in: "query", required: false, description: "Last UTC day of the range, included (default: today, UTC).", schema: day },
];
const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});
const errors = {
  "400": errorResponse("Invalid parameters: a malformed date, from after to, a range over 366 days, an unknown parameter."),
  "401": errorResponse("No API key, or an invalid or revoked one."),
  "403": errorResponse("The key's user is not an administrator."),
  "503": errorResponse("Redis or PostgreSQL is unreachable; retry shortly."),
};
const count = { type: "integer", minimum: 0 } as const;
const outcomes = {
  initiated: count,
  confirmed: count,
  failed: count,
  scanned: count,
  quarantined: count,
  deleted: count,
} as const;
const nullableNumber = { type: ["number", "null"] } as const;
const scanStats = { count, avgMs: nullableNumber, p50Ms: nullableNumber, p95Ms: nullableNumber };
const reasonBreakdown = {
  type: "object",
  properties: {
    total: count,
    moreReasons: count,
    reasons: {
      type: "array",
      items: {
        type: "object",
        properties: {
          reason: { type: "string" },
          count,
          share: { type: "number" },
          examples: {
            type: "array",
            items: {
              type: "object",
              properties: {
                assetId: { type: "string", format: "uuid" },
                userId: { type: "string", format: "uuid" },
                mime: { type: ["string", "null"] },
                at: { type: "string", format: "date-time" },
              },
            },
          },
        },
      },
    },
  },
};
const storageLevels = {
  type: "object",
  properties: { UPLOADED: count, CLEAN: count, QUARANTINED: count, FAILED: count, total: count },
};

export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "Airlock admin REST API",
    version: "1.0.0",
    description:
      "REST façade of the administrators' tRPC procedures (`analytics.*`, `admin.cleanup.*`), with the same API keys, checks and errors. " +
      "Ranges are whole UTC days, `from` and `to` both included, at most 366 days. Figures come from day buckets in Redis and may be up to 10 s old.",
  },
  servers: [{ url: "/api/admin" }],
  security: [{ apiKey: [] }],
  components: {
    securitySchemes: {
      apiKey: { type: "http", scheme: "bearer", description: "An administrator's API key: `Authorization: Bearer ak_...`." },
    },
    schemas: {
      Error: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["code", "message"],
            properties: {
              code: { type: "string", examples: ["BAD_REQUEST", "UNAUTHORIZED", "FORBIDDEN", "SERVICE_UNAVAILABLE"] },
              message: { type: "string" },
              details: { type: "object" },
              fieldErrors: { type: "object", additionalProperties: { type: "array", items: { type: "string" } } },
              requestId: { type: "string" },
            },
          },
        },
      },
      Metrics: {
        type: "object",
        properties: {
          from: day,
          to: day,
          days: count,
          ...outcomes,
          bytes: { type: "object", properties: outcomes },
          successRate: {
            ...nullableNumber,
            description: "confirmed ÷ initiated, both by the UTC day of the event; null when nothing was initiated.",
          },
          quarantineRate: { ...nullableNumber, description: "quarantined ÷ scanned; null without scans." },
        },
      },
      UploadAnalytics: {
        type: "object",
        properties: {
          from: day,
          to: day,
          metrics: { $ref: "#/components/schemas/Metrics" },
          timeseries: {
            type: "array",
            items: { type: "object", properties: { day, ...outcomes, bytesConfirmed: count } },
          },
          mimeBreakdown: {
            type: "array",
            items: { type: "object", properties: { mime: { type: "string" }, ...outcomes, bytes: count, share: nullableNumber } },
          },
          scanTimes: {
            type: "object",
            properties: {
              ...scanStats,
              days: { type: "array", items: { type: "object", properties: { day, ...scanStats } } },
              buckets: { type: "array", items: { type: "object", properties: { leMs: nullableNumber, count } } },
            },
          },
          storageUsage: {
            type: "object",
            properties: {
              current: { type: "object", properties: { bytes: storageLevels, assets: storageLevels } },
              points: { type: "array", items: { type: "object", properties: { day, bytes: storageLevels, assets: storageLevels } } },
            },
          },
        },
      },
    },
  },
  paths: {
    "/analytics/uploads": {
      get: {
        summary: "Upload analytics of a range",
        description:
          "Totals and success rate, one point per day and outcome, MIME breakdown, scan times (avg, p50, p95) and stored bytes by status.",
        parameters: rangeParameters,
        responses: {
          "200": {
            description: "The analytics.",
            content: { "application/json": { schema: { $ref: "#/components/schemas/UploadAnalytics" } } },
          },
          ...errors,
        },
      },
    },
    "/analytics/uploads/queue": {
      get: {
        summary: "Queue depths",
        description: "Live BullMQ job counts of every queue by state (waiting, prioritized, delayed, active, failed, completed).",
        responses: {
          "200": {
            description: "Counts per queue.",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: {
                    at: { type: "string", format: "date-time" },
                    queues: {
                      type: "array",
                      items: {
                        type: "object",
                        properties: {
                          name: { type: "string" },
                          paused: { type: "boolean" },
                          pending: count,
                          counts: {
                            type: "object",
                            properties: {
                              waiting: count,
                              prioritized: count,
                              delayed: count,
                              active: count,
                              failed: count,
                              completed: count,
                            },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
          ...errors,
        },
      },
    },
    "/uploads/failures": {
      get: {
        summary: "Failures by reason",
        description:
          "Failed uploads by failure code and quarantined files by threat, most frequent first, each with up to 3 recent examples.",
        parameters: [
          ...rangeParameters,
          {
            name: "limit",
            in: "query",
            required: false,
            description: "Reasons listed per kind (1–100, default 20).",
            schema: { type: "integer" },
          },
        ],
        responses: {
          "200": {
            description: "The failures.",
            content: {
              "application/json": {
                schema: { type: "object", properties: { from: day, to: day, failed: reasonBreakdown, quarantined: reasonBreakdown } },
              },
            },
          },
          ...errors,
        },
      },
    },
    "/uploads/top-users": {
      get: {
        summary: "Top uploaders",
        description: "Users with the most confirmed uploads (or bytes) in the range; ties: the larger user id first.",
        parameters: [
          ...rangeParameters,
          { name: "limit", in: "query", required: false, description: "Users listed (1–100, default 10).", schema: { type: "integer" } },
          {
            name: "by",
            in: "query",
            required: false,
            description: "Rank by `count` (default) or `bytes`.",
            schema: { enum: ["count", "bytes"] },
          },
        ],
        responses: {
          "200": {
            description: "The ranking.",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: {
                    from: day,
                    to: day,
                    by: { enum: ["count", "bytes"] },
                    totalCount: count,
                    totalBytes: count,
                    users: {
                      type: "array",
                      items: {
                        type: "object",
                        properties: {
                          userId: { type: "string", format: "uuid" },
                          email: { type: ["string", "null"] },
                          name: { type: ["string", "null"] },
                          count,
                          bytes: count,
                          countShare: { type: "number" },
                          bytesShare: { type: "number" },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
          ...errors,
        },
      },
    },
    "/assets/{assetId}/history": {
      get: {
        summary: "History of one asset",
        description:
          "Its upload events (one per type: initiated, confirmed, scanned, quarantined, failed, deleted) and the security events " +
          "logged about it, each oldest first (up to 100). Works for deleted assets while their row exists.",
        parameters: [{ name: "assetId", in: "path", required: true, schema: { type: "string", format: "uuid" } }],
        responses: {
          "200": {
            description: "The history.",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: {
                    events: {
                      type: "array",
                      items: {
                        type: "object",
                        properties: {
                          id: { type: "string" },
                          type: { enum: ["INITIATED", "CONFIRMED", "SCANNED", "QUARANTINED", "FAILED", "DELETED"] },
                          at: { type: "string", format: "date-time" },
                          mime: { type: ["string", "null"] },
                          size: nullableNumber,
                          durationMs: nullableNumber,
                          engine: { type: ["string", "null"] },
                          reason: { type: ["string", "null"] },
                        },
                      },
                    },
                    securityEvents: {
                      type: "array",
                      items: {
                        type: "object",
                        properties: {
                          id: { type: "string" },
                          type: { type: "string" },
                          severity: { type: "string" },
                          userId: { type: ["string", "null"] },
                          details: {},
                          at: { type: "string", format: "date-time" },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
          ...errors,
          "404": errorResponse("No asset with this id."),
        },
      },
    },
    "/uploads/cleanup": {
      post: {
        summary: "Clean up abandoned, failed and quarantined uploads",
        description:
          "A dry run by default: answers at once what would be deleted (counts, bytes, a sample). With `dryRun: false` a real run is queued " +
          "for the worker (202, the job id); its result appears in the cleanup history.",
        requestBody: {
          required: false,
          content: {
            "application/json": {
              schema: {
                type: "object",
                additionalProperties: false,
                properties: {
                  dryRun: { type: "boolean", default: true },
                  categories: { type: "array", items: { enum: ["abandoned", "failed", "quarantined", "orphans"] }, minItems: 1 },
                  olderThanHours: { type: "number", exclusiveMinimum: 0, description: "Overrides the configured ages for this run." },
                },
              },
            },
          },
        },
        responses: {
          "200": {
            description: "Dry run: the preview.",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: {
                    runId: { type: "string", format: "uuid" },
                    dryRun: { const: true },
                    counts: { type: "object", additionalProperties: { type: "object", properties: { count, bytes: count } } },
                    bytesFreed: count,
                    errors: { type: "array", items: { type: "object" } },
                    sample: { type: "array", items: { type: "object" } },
                    durationMs: count,
                  },
                },
              },
            },
          },
          "202": {
            description: "Real run queued.",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: { dryRun: { const: false }, status: { const: "queued" }, jobId: { type: ["string", "null"] } },
                },
              },
            },
          },
          ...errors,
        },
      },
    },
  },
} as const;
