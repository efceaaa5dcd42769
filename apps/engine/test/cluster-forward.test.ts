import { describe, it, expect } from 'vitest';
import { forwardUrl } from '../src/cluster/cluster';

describe('forwardUrl', () => {
  it("keeps the peer's origin and takes only the path and query of the request", () => {
    expect(forwardUrl('http://10.0.0.2:4001', '/rooms/abc/frame?token=t').href).toBe(
      'http://10.0.0.2:4001/rooms/abc/frame?token=t',
    );
    expect(forwardUrl('http://10.0.0.2:4001', 'http://attacker.example:9999/rooms?x=1').href).toBe(
      'http://10.0.0.2:4001/rooms?x=1',
    );
    expect(forwardUrl('http://10.0.0.2:4001', '//attacker.example/rooms').href).toBe('http://10.0.0.2:4001/rooms');
    expect(forwardUrl('https://engine-b.internal/', '/gallery#frag').href).toBe('https://engine-b.internal/gallery');
  });
});
