import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli/cluster';

describe('npm run cluster arguments', () => {
  it('has defaults and reads every option (also --flag=value)', () => {
    expect(parseArgs([])).toEqual({ engines: 2, port: 4000, webPort: 3000, web: true, sticky: false, help: false });
    expect(
      parseArgs(['--engines', '3', '--port=5000', '--web-port', '8080', '--sticky', '--workers', '0', '--no-web']),
    ).toEqual({
      engines: 3,
      port: 5000,
      webPort: 8080,
      web: false,
      sticky: true,
      workers: 0,
      help: false,
    });
  });

  it('refuses what it cannot use, in one line with a hint', () => {
    for (const bad of [
      ['--engines', '0'],
      ['--engines', '17'],
      ['--engines', '2.5'],
      ['--engines', 'three'],
      ['--engines'],
    ]) {
      expect(() => parseArgs(bad)).toThrow(/--engines must be a whole number from 1 to 16/);
    }
    expect(() => parseArgs(['--port', '70000'])).toThrow(/--port must be a whole number/);
    expect(() => parseArgs(['--frobnicate'])).toThrow(/unknown option "--frobnicate"/);
    // the web port inside the engines' range
    expect(() => parseArgs(['--engines', '3', '--web-port', '4002'])).toThrow(
      /collides with the engine ports 4000..4003/,
    );
    expect(parseArgs(['--engines', '3', '--web-port', '4002', '--no-web']).web).toBe(false);
  });
});
