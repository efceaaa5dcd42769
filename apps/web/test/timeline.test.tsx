import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Timeline } from '../components/room/timeline';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function stubHistory() {
  vi.stubGlobal(
    'fetch',
    vi.fn(
      async () =>
        new Response(JSON.stringify({ steps: [5, 10, 15], current: 17 }), {
          headers: { 'content-type': 'application/json' },
        }),
    ),
  );
}

describe('Timeline', () => {
  it('tells the room which step you look at', async () => {
    stubHistory();
    const onViewing = vi.fn();
    render(
      <Timeline
        base="http://e"
        roomId="r"
        token="t"
        canFork
        onFork={() => {}}
        onError={() => {}}
        onViewing={onViewing}
      />,
    );
    await screen.findByText(/3 kept steps/);
    fireEvent.change(screen.getByLabelText('Chain history'), { target: { value: '1' } });
    expect(onViewing).toHaveBeenLastCalledWith(10);
    expect(screen.getByTestId('history-preview').getAttribute('src')).toContain('/history/10.png');
    fireEvent.click(screen.getByRole('button', { name: 'Close' }));
    expect(onViewing).toHaveBeenLastCalledWith(null);
  });

  it("mirrors the followed person's step and locks the slider", async () => {
    stubHistory();
    const { rerender } = render(
      <Timeline
        base="http://e"
        roomId="r"
        token="t"
        canFork
        onFork={() => {}}
        onError={() => {}}
        follow={{ name: 'Ada', viewing: 15 }}
      />,
    );
    await waitFor(() => expect(screen.getByTestId('history-preview').getAttribute('src')).toContain('/history/15.png'));
    expect(screen.getByText(/following Ada/)).toBeTruthy();
    expect((screen.getByLabelText('Chain history') as HTMLInputElement).disabled).toBe(true);
    rerender(
      <Timeline
        base="http://e"
        roomId="r"
        token="t"
        canFork
        onFork={() => {}}
        onError={() => {}}
        follow={{ name: 'Ada', viewing: null }}
      />,
    );
    expect(screen.queryByTestId('history-preview')).toBeNull();
  });
});
