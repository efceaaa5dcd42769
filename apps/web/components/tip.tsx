import { useId } from 'react';

/** A small "?" that explains something on hover and keyboard focus. */
export function Tip({ text, label = 'What is this?' }: { text: string; label?: string }) {
  const id = useId();
  return (
    <span className="tip" tabIndex={0} aria-label={label} aria-describedby={id} data-tip={text}>
      ?
      <span id={id} role="tooltip" className="tip-body">
        {text}
      </span>
    </span>
  );
}
