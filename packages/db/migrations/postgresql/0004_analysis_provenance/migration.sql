-- AlterTable
ALTER TABLE "Analysis" ADD COLUMN     "expiredAt" TIMESTAMP(3),
ADD COLUMN     "provenance" JSONB;

-- CreateIndex
CREATE INDEX "Analysis_expiredAt_idx" ON "Analysis"("expiredAt");
