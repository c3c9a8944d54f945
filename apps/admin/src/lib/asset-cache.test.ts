import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import { applyAssetEvent, mergeLive } from "./asset-cache.ts";

/** Just enough of the tRPC proxy for applyAssetEvent's query keys. */
const trpc = {
  upload: {
    list: { pathKey: () => [["upload", "list"]] },
    get: { queryKey: (input: { assetId: string }) => [["upload", "get"], { input, type: "query" }] },
  },
} as never;

const asset = (id: string, status: "UPLOADED" | "SCANNING" | "CLEAN" | "QUARANTINED") => ({
  id,
  status,
  threats: [] as string[],
  failureCode: null as string | null,
  hasThumbnail: false,
});
const at = new Date().toISOString();

describe("live asset events", () => {
  it("patch cached lists in place and report whether the asset was there", () => {
    const queryClient = new QueryClient();
    queryClient.setQueryData([["upload", "list"], { input: {}, type: "query" }], { items: [asset("a1", "UPLOADED")], nextCursor: null });
    const found = applyAssetEvent(queryClient, trpc, { type: "asset.status", assetId: "a1", ownerId: "u", status: "SCANNING", at });
    expect(found).toBe(true);
    const list = queryClient.getQueryData<{ items: Array<{ status: string }> }>([["upload", "list"], { input: {}, type: "query" }]);
    expect(list?.items[0]?.status).toBe("SCANNING");
    expect(applyAssetEvent(queryClient, trpc, { type: "asset.status", assetId: "other", ownerId: "u", status: "CLEAN", at })).toBe(false);
  });

  it("never move a row backwards when an older fetch answers after a newer event", () => {
    const queryClient = new QueryClient();
    applyAssetEvent(queryClient, trpc, {
      type: "asset.status",
      assetId: "a2",
      ownerId: "u",
      status: "QUARANTINED",
      threats: ["Eicar"],
      at,
    });
    // A list fetched while the file was still scanning arrives late:
    expect(mergeLive(asset("a2", "SCANNING"))).toMatchObject({ status: "QUARANTINED", threats: ["Eicar"] });
    // ...and a fresher view from the server wins over nothing newer.
    applyAssetEvent(queryClient, trpc, { type: "asset.thumbnail", assetId: "a3", ownerId: "u", at });
    expect(mergeLive(asset("a3", "CLEAN"))).toMatchObject({ status: "CLEAN", hasThumbnail: true });
  });
});
