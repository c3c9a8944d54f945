-- AlterTable
ALTER TABLE "Notification" ADD COLUMN     "occurrence" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "Notification_userId_occurrence_key" ON "Notification"("userId", "occurrence");
