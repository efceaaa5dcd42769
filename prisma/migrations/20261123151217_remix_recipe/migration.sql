-- AlterTable
ALTER TABLE "Room" ADD COLUMN     "parentItemId" TEXT;

-- AlterTable
ALTER TABLE "GalleryItem" ADD COLUMN     "contextPng" BYTEA;

