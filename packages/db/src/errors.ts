/**
 * Prisma's "record to update not found" (P2025): a guarded `update` (`where: { id, status }`) matched no
 * row. Guarded updates return the row in one statement (UPDATE … RETURNING); this tells a lost race from
 * a real failure.
 */
export function isRecordNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "P2025";
}

/** A guarded update's row, or null when the guard did not match (another writer moved it first). */
export async function orNullIfNotFound<T>(update: Promise<T>): Promise<T | null> {
  try {
    return await update;
  } catch (error) {
    if (isRecordNotFound(error)) return null;
    throw error;
  }
}
