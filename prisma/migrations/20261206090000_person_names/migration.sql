-- Authorship bound to the person: a person's display name, and the publishing person of a gallery item.
ALTER TABLE "Person" ADD COLUMN "name" TEXT;
ALTER TABLE "GalleryItem" ADD COLUMN "authorId" TEXT;
