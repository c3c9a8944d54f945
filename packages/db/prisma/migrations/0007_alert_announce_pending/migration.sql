-- AlterTable
ALTER TABLE "Alert" ADD COLUMN     "announcePending" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "Alert_announcePending_idx" ON "Alert"("announcePending");
