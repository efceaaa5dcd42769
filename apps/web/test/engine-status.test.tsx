import { cleanup, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Health } from '@ppgn/shared';
import { EngineStatus, HealthView } from '../app/engine-status';
import { engineUrl } from '../app/engine';

const health: Health = {
  ok: true,
  version: '0.1.0',
  backend: { name: 'webgpu', reason: 'GPU adapter found', gpu: true },
  packs: [{ id: 'emoji64', name: 'emoji64', version: '1.0.0', imageSize: [64, 64, 3], codeSize: 256, conditions: [] }],
  database: { reachable: true, embedded: false },
  rooms: { running: 2, total: 5 },
  gallery: { items: 4 },
  uptimeS: 3,
};

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('engineUrl', () => {
  it('prefers the configured public URL and otherwise uses the page host and engine port', () => {
    expect(engineUrl({ publicUrl: 'https://engine.example/', port: 4000 }, { protocol: 'http:', hostname: 'x' })).toBe(
      'https://engine.example',
    );
    expect(engineUrl({ publicUrl: null, port: 4100 }, { protocol: 'http:', hostname: '10.0.0.5' })).toBe(
      'http://10.0.0.5:4100',
    );
  });
});

describe('HealthView', () => {
  it('names the runtime and its provider when the engine reports one', () => {
    const onnx: Health = {
      ...health,
      backend: {
        name: 'onnx',
        reason: 'auto: native CPU kernels',
        gpu: false,
        runtime: 'ONNX Runtime 1.31.1 (cpu, 1 thread per worker)',
      },
    };
    render(<HealthView health={onnx} />);
    expect(screen.getByTestId('engine-backend').textContent).toBe(
      'ONNX Runtime 1.31.1 (cpu, 1 thread per worker) (CPU) — auto: native CPU kernels',
    );
  });

  it('shows backend, GPU, packs, database and rooms', () => {
    render(<HealthView health={health} />);
    expect(screen.getByTestId('engine-ok').textContent).toMatch(/ready · v0\.1\.0/);
    expect(screen.getByTestId('engine-backend').textContent).toBe('webgpu (GPU) — GPU adapter found');
    expect(screen.getByTestId('engine-packs').textContent).toBe('emoji64 1.0.0 (64×64)');
    expect(screen.getByTestId('engine-db').textContent).toBe('reachable');
    expect(screen.getByTestId('engine-rooms').textContent).toBe('2 running · 5 kept');
    // "N saved" is the gallery's count, not the number of rooms
    expect(screen.getByTestId('engine-gallery').textContent).toBe('4 saved');
    // one engine on its own: no cluster line
    expect(screen.queryByTestId('engine-cluster')).toBeNull();
  });

  it('in a cluster, says how many engines there are, which one answered, and which hand rooms over', () => {
    const peers = [
      { id: 'e-a', url: 'http://10.0.0.1:4000', load: 0.5, rooms: 3, draining: false },
      { id: 'e-b', url: 'http://10.0.0.2:4000', load: 0, rooms: 0, draining: true },
      { id: 'e-c', url: 'http://10.0.0.3:4000', load: 1, rooms: 2, draining: false },
    ];
    render(
      <HealthView
        health={{
          ...health,
          engine: { id: 'e-c', cluster: true, rooms: 2, chains: 1, load: 1, draining: false, peers },
        }}
      />,
    );
    const line = screen.getByTestId('engine-cluster');
    expect(line.textContent!.replace(/\s+/g, ' ')).toBe('3 in the cluster (1 handing over) · this page reached e-c');
    expect(line.getAttribute('title')).toContain('e-a: 3 rooms, load 0.50');
  });
});

describe('EngineStatus', () => {
  it('fetches /health from the engine and renders it', async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify(health)));
    vi.stubGlobal('fetch', fetchMock);
    render(<EngineStatus engine={{ publicUrl: 'http://engine:4000', port: 4000 }} />);
    await waitFor(() => expect(screen.getByTestId('engine-ok')).toBeTruthy());
    expect(fetchMock).toHaveBeenCalledWith('http://engine:4000/health', { cache: 'no-store' });
  });

  it('says clearly when the engine is unreachable', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))),
    );
    render(<EngineStatus engine={{ publicUrl: 'http://engine:4000', port: 4000 }} />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/engine unreachable at http:\/\/engine:4000\/health \(Failed to fetch\)/);
  });

  it('rejects a malformed health payload', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(JSON.stringify({ ok: 'yes' }))),
    );
    render(<EngineStatus engine={{ publicUrl: 'http://engine:4000', port: 4000 }} />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/unexpected status format/);
  });
});
