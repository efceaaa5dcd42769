import { RoomView } from './room-view';

// Token and engine location are per request.
export const dynamic = 'force-dynamic';

export default async function RoomPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { id } = await params;
  const sp = await searchParams;
  const token = typeof sp.t === 'string' ? sp.t : '';
  if (!token)
    return (
      <div className="narrow card" role="alert">
        <h1>This room link is incomplete</h1>
        <p className="muted">Room links look like /room/{id}?t=… — ask whoever shared it for the full link.</p>
        <a href="/">Back to the studio</a>
      </div>
    );
  return <RoomView roomId={id} token={token} />;
}
