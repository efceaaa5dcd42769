import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { engineLocation } from './engine';
import { Providers } from '../components/providers';
import './globals.css';

export const metadata: Metadata = {
  title: 'PPGN Studio',
  description: 'Co-steer a live Plug & Play Generative Network sampling chain',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1, themeColor: '#0f1115' };

export default function RootLayout({ children }: { children: ReactNode }) {
  // Read at request time (the pages are dynamic): where the browser reaches the engine.
  const engine = engineLocation();
  return (
    <html lang="en">
      <body>
        <a href="#content" className="skip">
          Skip to content
        </a>
        <header className="topbar">
          <a href="/" className="brand">
            PPGN Studio
          </a>
          <nav aria-label="Main">
            <a href="/">Studio</a>
            <a href="/gallery">Gallery</a>
          </nav>
        </header>
        <Providers engine={engine}>
          <main id="content">{children}</main>
        </Providers>
      </body>
    </html>
  );
}
