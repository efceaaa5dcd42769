-- AlterTable
ALTER TABLE "GalleryItem" ADD COLUMN     "idempotencyKey" TEXT,
ADD COLUMN     "roomId" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "GalleryItem_roomId_author_idempotencyKey_key" ON "GalleryItem"("roomId", "author", "idempotencyKey");

