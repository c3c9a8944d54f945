import { type APIRequestContext, expect } from "@playwright/test";
import { callApi } from "../fixtures.ts";

/**
 * Uploads a file through the API as `key` (initiate → signed PUT → confirm), without the browser, and
 * waits until the worker has given it `until` (CLEAN by default; QUARANTINED for EICAR). For specs
 * whose subject is what an upload leads to, not the upload screen.
 */
export async function uploadThroughApi(
  request: APIRequestContext,
  key: string,
  file: { filename: string; body: Buffer | string; mimeType?: string },
  until: "CLEAN" | "QUARANTINED" = "CLEAN",
): Promise<string> {
  const body = Buffer.isBuffer(file.body) ? file.body : Buffer.from(file.body);
  const init = await callApi<{ assetId: string }>(request, key, "upload.initiate", {
    filename: file.filename,
    size: body.length,
    mimeType: file.mimeType ?? "text/plain",
  });
  const signed = await callApi<{ url: string; headers: Record<string, string> }>(request, key, "upload.sign", {
    assetId: init.assetId,
    method: "PUT",
  });
  expect((await request.put(signed.url, { headers: signed.headers, data: body })).ok()).toBe(true);
  await callApi(request, key, "upload.confirm", { assetId: init.assetId });
  const status = async () => {
    const input = encodeURIComponent(JSON.stringify({ assetId: init.assetId }));
    const response = await request.get(`/trpc/upload.status?input=${input}`, { headers: { Authorization: `Bearer ${key}` } });
    return ((await response.json()) as { result?: { data: { status: string } } }).result?.data.status;
  };
  await expect.poll(status, { timeout: 20_000 }).toBe(until);
  return init.assetId;
}
