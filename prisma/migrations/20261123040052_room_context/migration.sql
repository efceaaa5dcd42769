-- AlterTable
ALTER TABLE "Room" ADD COLUMN     "contextPng" BYTEA,
ADD COLUMN     "roles" JSONB NOT NULL DEFAULT '{}';

