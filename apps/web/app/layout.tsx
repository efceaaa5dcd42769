import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { DEFAULT_ENGINE_PORT, parsePort } from '@ppgn/shared';
import { Providers } from '../components/providers';
import './globals.css';

export const metadata: Metadata = {
  title: 'PPGN Studio',
  description: 'Co-steer a live Plug & Play Generative Network sampling chain',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1, themeColor: '#0f1115' };

export default function RootLayout({ children }: { children: ReactNode }) {
  // Read at request time (the pages are dynamic): where the browser reaches the engine.
  const port = parsePort(process.env.ENGINE_PORT, DEFAULT_ENGINE_PORT, 'ENGINE_PORT');
  const publicUrl = process.env.ENGINE_PUBLIC_URL || null;
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
        <Providers engine={{ port, publicUrl }}>
          <main id="content">{children}</main>
        </Providers>
      </body>
    </html>
  );
}
