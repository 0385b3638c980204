-- AlterTable
ALTER TABLE "ObservationBatch" ADD COLUMN "idempotencyKey" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "ObservationBatch_datasetId_idempotencyKey_key" ON "ObservationBatch"("datasetId", "idempotencyKey");
