-- AlterTable
ALTER TABLE "Analysis" ADD COLUMN "expiredAt" DATETIME;
ALTER TABLE "Analysis" ADD COLUMN "provenance" JSONB;

-- CreateIndex
CREATE INDEX "Analysis_expiredAt_idx" ON "Analysis"("expiredAt");
