-- AlterTable
ALTER TABLE "PreferenceSet" ADD COLUMN "candidates" INTEGER;
ALTER TABLE "PreferenceSet" ADD COLUMN "conditions" INTEGER;
ALTER TABLE "PreferenceSet" ADD COLUMN "contentHash" TEXT;
ALTER TABLE "PreferenceSet" ADD COLUMN "heldOutPairCount" INTEGER;
ALTER TABLE "PreferenceSet" ADD COLUMN "periodEnd" DATETIME;
ALTER TABLE "PreferenceSet" ADD COLUMN "periodStart" DATETIME;
ALTER TABLE "PreferenceSet" ADD COLUMN "rewardScales" JSONB;
ALTER TABLE "PreferenceSet" ADD COLUMN "rewards" JSONB;
