-- AlterTable
ALTER TABLE "PreferenceSet" ADD COLUMN     "candidates" INTEGER,
ADD COLUMN     "conditions" INTEGER,
ADD COLUMN     "contentHash" TEXT,
ADD COLUMN     "heldOutPairCount" INTEGER,
ADD COLUMN     "periodEnd" TIMESTAMP(3),
ADD COLUMN     "periodStart" TIMESTAMP(3),
ADD COLUMN     "rewardScales" JSONB,
ADD COLUMN     "rewards" JSONB;
