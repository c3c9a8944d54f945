-- AlterTable
ALTER TABLE "WebhookDelivery" ADD COLUMN     "occurrence" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "WebhookDelivery_endpointId_occurrence_key" ON "WebhookDelivery"("endpointId", "occurrence");
