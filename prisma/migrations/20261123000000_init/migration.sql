-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "Room" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "packId" TEXT NOT NULL,
    "state" JSONB NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 0,
    "step" INTEGER NOT NULL DEFAULT 0,
    "h" BYTEA,
    "ownerToken" TEXT NOT NULL,
    "editorToken" TEXT NOT NULL,
    "viewerToken" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Room_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ActivityEntry" (
    "id" BIGSERIAL NOT NULL,
    "roomId" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "author" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ActivityEntry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "GalleryItem" (
    "id" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "packId" TEXT NOT NULL,
    "author" TEXT NOT NULL,
    "image" BYTEA NOT NULL,
    "h" BYTEA NOT NULL,
    "recipe" JSONB NOT NULL,
    "classLabel" TEXT,
    "keywords" TEXT[],
    "seed" INTEGER NOT NULL,
    "step" INTEGER NOT NULL,
    "parentId" TEXT,
    "mixParentId" TEXT,
    "stars" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "GalleryItem_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ActivityEntry_roomId_version_idx" ON "ActivityEntry"("roomId", "version");

-- CreateIndex
CREATE INDEX "GalleryItem_packId_createdAt_idx" ON "GalleryItem"("packId", "createdAt");

-- CreateIndex
CREATE INDEX "GalleryItem_classLabel_idx" ON "GalleryItem"("classLabel");

-- CreateIndex
CREATE INDEX "GalleryItem_author_idx" ON "GalleryItem"("author");

-- CreateIndex
CREATE INDEX "GalleryItem_parentId_idx" ON "GalleryItem"("parentId");

-- AddForeignKey
ALTER TABLE "ActivityEntry" ADD CONSTRAINT "ActivityEntry_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "GalleryItem" ADD CONSTRAINT "GalleryItem_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "GalleryItem"("id") ON DELETE SET NULL ON UPDATE CASCADE;

