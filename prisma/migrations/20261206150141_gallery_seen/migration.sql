-- AlterTable
ALTER TABLE "GalleryItem" ADD COLUMN     "seen" JSONB;

