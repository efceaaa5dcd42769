import { ItemView } from './item-view';

export const dynamic = 'force-dynamic';

export default async function GalleryItemPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <ItemView id={id} />;
}
