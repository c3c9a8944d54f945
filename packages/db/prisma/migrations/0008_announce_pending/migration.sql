-- AlterTable
ALTER TABLE "CleanupRun" ADD COLUMN     "announcePending" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "WebhookEndpoint" ADD COLUMN     "announcePending" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "CleanupRun_announcePending_idx" ON "CleanupRun"("announcePending");

-- CreateIndex
CREATE INDEX "WebhookEndpoint_announcePending_idx" ON "WebhookEndpoint"("announcePending");
