import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  NoSuchUpload,
  PutBucketCorsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { contentDisposition } from "./content-disposition.ts";
import {
  assertSignableKey,
  type MultipartUploadInfo,
  type ObjectInfo,
  type SignedOperation,
  type SignedRequest,
  type StorageDriver,
  type UploadedPart,
} from "./driver.ts";

export interface S3DriverOptions {
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
}

/**
 * Any S3-compatible store (AWS, MinIO, R2, Ceph RGW). Clients talk to the store directly with URLs
 * presigned here; each URL is bound to one method, key and (for parts) upload id and part number.
 */
export class S3StorageDriver implements StorageDriver {
  readonly name = "s3" as const;
  readonly client: S3Client;
  readonly bucket: string;

  constructor(options: S3DriverOptions) {
    this.bucket = options.bucket;
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      // Otherwise the SDK adds a checksum of an empty body to presigned PUTs, which then never match.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  async sign(operation: SignedOperation, ttlSeconds: number): Promise<SignedRequest> {
    assertSignableKey(operation.key);
    const Bucket = this.bucket;
    const Key = operation.key;
    const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
    const options = (signableHeaders?: Set<string>) => ({ expiresIn: ttlSeconds, ...(signableHeaders ? { signableHeaders } : {}) });
    switch (operation.op) {
      case "putObject": {
        // Binding content-length makes the store itself refuse any other size for a single PUT.
        const command = new PutObjectCommand({ Bucket, Key, ContentType: operation.contentType, ContentLength: operation.maxBytes });
        const url = await getSignedUrl(this.client, command, options(new Set(["content-type", "content-length"])));
        return { method: "PUT", url, headers: { "content-type": operation.contentType }, expiresAt };
      }
      case "createMultipart": {
        const url = await getSignedUrl(
          this.client,
          new CreateMultipartUploadCommand({ Bucket, Key, ContentType: operation.contentType }),
          options(new Set(["content-type"])),
        );
        return { method: "POST", url, headers: { "content-type": operation.contentType }, expiresAt };
      }
      case "uploadPart": {
        const url = await getSignedUrl(
          this.client,
          new UploadPartCommand({ Bucket, Key, UploadId: operation.uploadId, PartNumber: operation.partNumber }),
          options(),
        );
        return { method: "PUT", url, headers: {}, expiresAt };
      }
      case "listParts": {
        const url = await getSignedUrl(this.client, new ListPartsCommand({ Bucket, Key, UploadId: operation.uploadId }), options());
        return { method: "GET", url, headers: {}, expiresAt };
      }
      case "completeMultipart": {
        const url = await getSignedUrl(
          this.client,
          new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: operation.uploadId }),
          options(),
        );
        return { method: "POST", url, headers: {}, expiresAt };
      }
      case "abortMultipart": {
        const url = await getSignedUrl(
          this.client,
          new AbortMultipartUploadCommand({ Bucket, Key, UploadId: operation.uploadId }),
          options(),
        );
        return { method: "DELETE", url, headers: {}, expiresAt };
      }
      case "getObject": {
        const command = new GetObjectCommand({
          Bucket,
          Key,
          ResponseContentDisposition: contentDisposition(operation.filename),
          ResponseContentType: operation.contentType,
          ResponseCacheControl: "private, no-store",
        });
        return { method: "GET", url: await getSignedUrl(this.client, command, options()), headers: {}, expiresAt };
      }
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: Number(out.ContentLength ?? 0), etag: out.ETag, contentType: out.ContentType, lastModified: out.LastModified };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async readRange(key: string, start: number, end: number): Promise<Buffer> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${end}` }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (error) {
      // An empty object has no satisfiable range.
      if ((error as { name?: string }).name === "InvalidRange") return Buffer.alloc(0);
      throw error;
    }
  }

  async read(key: string): Promise<Readable> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return out.Body as Readable;
  }

  async write(key: string, body: Buffer | Readable, contentType: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async move(from: string, to: string): Promise<void> {
    const source = await this.head(from);
    if (!source) throw new Error(`cannot move ${from}: no such object`);
    await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: `${this.bucket}/${encodeURI(from)}` }));
    const copy = await this.head(to);
    if (copy?.size !== source.size)
      throw new Error(`copy of ${from} to ${to} is ${copy?.size ?? "missing"} bytes, expected ${source.size}`);
    await this.delete(from);
  }

  async listParts(key: string, uploadId: string): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    let marker: string | undefined;
    do {
      const out = await this.client.send(
        new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }),
      );
      for (const p of out.Parts ?? []) parts.push({ partNumber: p.PartNumber!, etag: p.ETag!, size: Number(p.Size ?? 0) });
      marker = out.IsTruncated ? out.NextPartNumberMarker : undefined;
    } while (marker);
    return parts;
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
    } catch (error) {
      if (error instanceof NoSuchUpload || isNotFound(error)) return;
      throw error;
    }
  }

  async listMultipartUploads(
    prefix: string,
    options: { cursor?: string; limit?: number } = {},
  ): Promise<{ items: MultipartUploadInfo[]; cursor?: string }> {
    // S3 pages by two markers; the cursor carries both.
    const [KeyMarker, UploadIdMarker] = options.cursor ? (JSON.parse(options.cursor) as [string, string]) : [undefined, undefined];
    const out = await this.client.send(
      new ListMultipartUploadsCommand({
        Bucket: this.bucket,
        Prefix: prefix,
        KeyMarker,
        UploadIdMarker,
        MaxUploads: options.limit ?? 1000,
      }),
    );
    return {
      items: (out.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId!, initiated: u.Initiated ?? new Date(0) })),
      cursor: out.IsTruncated ? JSON.stringify([out.NextKeyMarker, out.NextUploadIdMarker]) : undefined,
    };
  }

  async list(prefix: string, options: { cursor?: string; limit?: number } = {}) {
    const out = await this.client.send(
      new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: options.cursor, MaxKeys: options.limit ?? 1000 }),
    );
    return {
      items: (out.Contents ?? []).map((o) => ({ key: o.Key!, size: Number(o.Size ?? 0), lastModified: o.LastModified ?? new Date(0) })),
      cursor: out.IsTruncated ? out.NextContinuationToken : undefined,
    };
  }

  async health(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  /**
   * Creates the bucket when missing and sets the CORS rules browsers need to upload directly
   * (ETag must be exposed: Uppy reads it from each part's answer).
   */
  async ensureBucket(allowedOrigins: string[]): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    }
    await this.client.send(
      new PutBucketCorsCommand({
        Bucket: this.bucket,
        CORSConfiguration: {
          CORSRules: [
            {
              AllowedOrigins: allowedOrigins,
              AllowedMethods: ["GET", "PUT", "POST", "DELETE", "HEAD"],
              AllowedHeaders: ["*"],
              ExposeHeaders: ["ETag"],
              MaxAgeSeconds: 3000,
            },
          ],
        },
      }),
    );
  }
}

/** Empties and removes the bucket: for tests and their teardown only. */
export async function destroyBucketForTests(driver: S3StorageDriver): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await driver.list("", { cursor });
    await Promise.all(page.items.map((item) => driver.delete(item.key)));
    cursor = page.cursor;
  } while (cursor);
  // A bucket with unfinished multipart uploads cannot be deleted (and they hold the store's space).
  do {
    const page = await driver.listMultipartUploads("", { cursor });
    await Promise.all(page.items.map((upload) => driver.abortMultipart(upload.key, upload.uploadId)));
    cursor = page.cursor;
  } while (cursor);
  await driver.client.send(new DeleteBucketCommand({ Bucket: driver.bucket })).catch(() => {});
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e?.name === "NotFound" ||
    e?.name === "NoSuchKey" ||
    e?.name === "NoSuchBucket" ||
    e?.name === "NoSuchUpload" ||
    e?.$metadata?.httpStatusCode === 404
  );
}
