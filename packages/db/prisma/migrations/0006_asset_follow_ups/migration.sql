-- AlterTable
ALTER TABLE "Asset" ADD COLUMN     "followUpsPending" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "Asset_followUpsPending_updatedAt_idx" ON "Asset"("followUpsPending", "updatedAt");
