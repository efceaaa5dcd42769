import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import './globals.css';

export const metadata: Metadata = {
  title: 'PPGN Studio',
  description: 'Co-steer a live Plug & Play Generative Network sampling chain',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header className="topbar">
          <a href="/" className="brand">
            PPGN Studio
          </a>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
