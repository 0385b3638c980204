// Reaches the database directly: forbidden in pure modules and in packages/pipelines.
import { PrismaClient } from '@prisma/client';

export const db = new PrismaClient();
