-- AlterTable
ALTER TABLE "ModelVersion" ADD COLUMN     "background" TEXT;

-- AlterTable
ALTER TABLE "Evaluation" ADD COLUMN     "period" TEXT;

-- CreateTable
CREATE TABLE "ModelEvent" (
    "id" TEXT NOT NULL,
    "modelVersionId" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "actorKeyId" TEXT,
    "actor" TEXT NOT NULL,
    "previousActiveId" TEXT,
    "evaluationId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ModelEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ModelEvent_modelVersionId_createdAt_idx" ON "ModelEvent"("modelVersionId", "createdAt");

-- AddForeignKey
ALTER TABLE "ModelEvent" ADD CONSTRAINT "ModelEvent_modelVersionId_fkey" FOREIGN KEY ("modelVersionId") REFERENCES "ModelVersion"("id") ON DELETE CASCADE ON UPDATE CASCADE;
