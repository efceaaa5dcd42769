import { GalleryView } from './gallery-view';

export const dynamic = 'force-dynamic';

export default async function GalleryPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const sp = await searchParams;
  const one = (k: string) => (typeof sp[k] === 'string' ? (sp[k] as string) : '');
  return (
    <GalleryView
      initial={{
        class: one('class'),
        keyword: one('keyword'),
        author: one('author'),
        pack: one('pack'),
        starred: one('starred') === '1' || one('starred') === 'true',
      }}
    />
  );
}
