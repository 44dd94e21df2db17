/** Numbers and times as people read them. Pure: also used by the Node tests. */

/** 523µs, 12.3ms, 1.24s, 2m 3s, 1h 4m. */
export function formatDuration(us: number): string {
  if (!Number.isFinite(us) || us < 0) return '–';
  if (us < 1000) return `${Math.round(us)}µs`;
  const ms = us / 1000;
  if (ms < 10) return `${trim(ms.toFixed(2))}ms`;
  if (ms < 1000) return `${trim(ms.toFixed(ms < 100 ? 1 : 0))}ms`;
  const sec = ms / 1000;
  if (sec < 60) return `${trim(sec.toFixed(2))}s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min}m ${Math.round(sec - min * 60)}s`;
  return `${Math.floor(min / 60)}h ${min % 60}m`;
}

/** Milliseconds as the graph reports latency. */
export function formatMs(ms: number): string {
  return formatDuration(ms * 1000);
}

function trim(fixed: string): string {
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

export function formatRate(perSecond: number): string {
  if (perSecond === 0) return '0/s';
  if (perSecond >= 100) return `${Math.round(perSecond)}/s`;
  if (perSecond >= 1) return `${trim(perSecond.toFixed(1))}/s`;
  if (perSecond * 60 >= 1) return `${trim((perSecond * 60).toFixed(1))}/min`;
  return `${trim((perSecond * 3600).toFixed(1))}/h`;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Local date and time to the millisecond: 2026-11-22 10:32:01.123. */
export function formatTimestamp(us: number): string {
  const d = new Date(us / 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** "just now", "3 min ago", "2 h ago", "5 days ago". */
export function formatAgo(us: number, nowMs: number): string {
  const sec = (nowMs - us / 1000) / 1000;
  if (sec < 0) return 'in the future';
  if (sec < 10) return 'just now';
  if (sec < 60) return `${Math.floor(sec)} s ago`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min ago`;
  if (sec < 86400) return `${Math.floor(sec / 3600)} h ago`;
  const days = Math.floor(sec / 86400);
  return `${days} day${days === 1 ? '' : 's'} ago`;
}

/** Tick positions (µs from the start) for an axis of `totalUs`: 1, 2 or 5 × 10ⁿ apart, about `target` of them. */
export function niceTicks(totalUs: number, target = 5): number[] {
  if (!(totalUs > 0)) return [0];
  const raw = totalUs / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  // The 1-2-5 step whose tick count comes closest to the target.
  let step = magnitude;
  for (const m of [2, 5, 10]) if (Math.abs(totalUs / (m * magnitude) - target) < Math.abs(totalUs / step - target)) step = m * magnitude;
  const ticks: number[] = [];
  for (let t = 0; t <= totalUs + step * 1e-9; t += step) ticks.push(t);
  return ticks;
}

/** Colours for services: distinct hues with enough contrast against white. */
const PALETTE = ['#2563eb', '#0d9488', '#d97706', '#7c3aed', '#db2777', '#059669', '#4f46e5', '#b45309', '#0891b2', '#9333ea', '#65a30d', '#c2410c'];

export function serviceColour(name: string): string {
  let hash = 2166136261;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 16777619);
  return PALETTE[(hash >>> 0) % PALETTE.length];
}
