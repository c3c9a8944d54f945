-- AlterTable
ALTER TABLE "User" ADD COLUMN     "emailOptOut" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "WebhookDelivery" ADD COLUMN     "deliveredAt" TIMESTAMPTZ(3),
ADD COLUMN     "error" TEXT,
ADD COLUMN     "latencyMs" INTEGER,
ADD COLUMN     "responseExcerpt" TEXT;

-- AlterTable
ALTER TABLE "WebhookEndpoint" ADD COLUMN     "disabledAt" TIMESTAMPTZ(3),
ADD COLUMN     "previousSecret" TEXT,
ADD COLUMN     "previousSecretExpiresAt" TIMESTAMPTZ(3);
