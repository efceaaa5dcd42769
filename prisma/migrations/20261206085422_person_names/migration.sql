-- AlterTable
ALTER TABLE "Person" ADD COLUMN     "name" TEXT;

-- AlterTable
ALTER TABLE "GalleryItem" ADD COLUMN     "authorId" TEXT;

