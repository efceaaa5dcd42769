-- CreateTable
CREATE TABLE "GalleryStar" (
    "itemId" TEXT NOT NULL,
    "personId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "GalleryStar_pkey" PRIMARY KEY ("itemId","personId")
);

-- CreateIndex
CREATE INDEX "GalleryStar_personId_idx" ON "GalleryStar"("personId");

-- AddForeignKey
ALTER TABLE "GalleryStar" ADD CONSTRAINT "GalleryStar_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "GalleryItem"("id") ON DELETE CASCADE ON UPDATE CASCADE;
