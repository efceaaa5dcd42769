import { engineLocation } from './engine';
import { EngineStatus } from './engine-status';
import { BrowserIdentity, CreateRoom, GalleryStrip, JoinByLink } from '../components/home';

// Read the engine location at request time, not at build time.
export const dynamic = 'force-dynamic';

export default function HomePage() {
  const engine = engineLocation();
  return (
    <div className="home">
      <section className="hero">
        <h1>Plug &amp; Play Generative Networks, live</h1>
        <p>
          Open a room, pick what the network should draw, and steer one shared sampling chain together: swap conditions,
          paint masks, save what you like and remix each other&apos;s work.
        </p>
      </section>
      <div className="home-grid">
        <div>
          <CreateRoom />
          <JoinByLink />
          <BrowserIdentity />
        </div>
        <div>
          <GalleryStrip title="Recent in the gallery" />
          <GalleryStrip title="Starred" starred />
          <EngineStatus engine={engine} />
        </div>
      </div>
    </div>
  );
}
