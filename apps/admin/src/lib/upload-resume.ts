/**
 * Which asset a local file was being uploaded to, kept in localStorage so that after a reload (or a
 * crash) adding the same file again continues the same upload instead of starting over: the server
 * still has the asset in PENDING_UPLOAD with its multipart uploadId, and Uppy lists the stored parts
 * and sends only the missing ones. Browsers do not let a page reopen a file by itself after a reload,
 * so the person adds it again; the fingerprint (name, size, type, modification time, user) tells that
 * it is the same file. Entries are dropped once confirmed, and after a day (the server cleans up
 * abandoned uploads after CLEANUP_ABANDONED_HOURS, 24 h by default).
 */
const STORAGE_KEY = "airlock.uploads.resume.v1";
const MAX_AGE_MS = 24 * 3600 * 1000;

export interface ResumeRecord {
  assetId: string;
  savedAt: number;
}

type Records = Record<string, ResumeRecord>;

function read(): Records {
  try {
    const parsed: unknown = JSON.parse(window.localStorage.getItem(STORAGE_KEY) ?? "{}");
    if (!parsed || typeof parsed !== "object") return {};
    const now = Date.now();
    return Object.fromEntries(
      Object.entries(parsed as Records).filter(
        ([, r]) => r && typeof r.assetId === "string" && typeof r.savedAt === "number" && now - r.savedAt < MAX_AGE_MS,
      ),
    );
  } catch {
    return {};
  }
}

function write(records: Records): void {
  try {
    if (Object.keys(records).length === 0) window.localStorage.removeItem(STORAGE_KEY);
    else window.localStorage.setItem(STORAGE_KEY, JSON.stringify(records));
  } catch {
    // storage full or disabled: resuming after a reload is a convenience, uploads still work
  }
}

/**
 * Same person, same file: name, size, type and the file's own modification time, hashed so that
 * localStorage never holds file names (plain text only where the page has no WebCrypto, i.e. plain
 * HTTP on a non-local host).
 */
export async function fingerprint(
  userId: string,
  file: { name?: string; size: number | null; type: string; data: unknown },
): Promise<string> {
  const modified = file.data instanceof File ? file.data.lastModified : 0;
  const plain = [userId, file.name ?? "", file.size ?? 0, file.type, modified].join("|");
  if (!globalThis.crypto?.subtle) return plain;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(plain));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export const resumeStore = {
  get(fp: string): ResumeRecord | undefined {
    return read()[fp];
  },
  save(fp: string, assetId: string): void {
    write({ ...read(), [fp]: { assetId, savedAt: Date.now() } });
  },
  remove(fp: string): void {
    const records = read();
    delete records[fp];
    write(records);
  },
};
