/** Terminal styling, applied only when the caller asked for colour (the CLI decides from isTTY and NO_COLOR). */

export interface ViewOptions {
  color: boolean;
  /** Columns available; lines are fitted to it. */
  width: number;
}

const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], magenta: [35, 39], cyan: [36, 39] } as const;
export type Style = keyof typeof CODES;

export function paint(text: string, style: Style, color: boolean): string {
  if (!color || text === '') return text;
  const [open, close] = CODES[style];
  return `\x1b[${open}m${text}\x1b[${close}m`;
}

/** Display width, counting each code point as one column (no East Asian wide handling). */
export function visibleLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** Cuts to `width` columns, marking the cut with an ellipsis. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  if (visibleLength(text) <= width) return text;
  const chars = [...text];
  return chars.slice(0, Math.max(0, width - 1)).join('') + '…';
}

export function padEnd(text: string, width: number): string {
  const n = visibleLength(text);
  return n >= width ? text : text + ' '.repeat(width - n);
}

export function padStart(text: string, width: number): string {
  const n = visibleLength(text);
  return n >= width ? text : ' '.repeat(width - n) + text;
}
