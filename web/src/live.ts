/**
 * The live stream (`/v1/stream`, Server-Sent Events). One shared connection for event changes,
 * whose state the header shows; views that need scores open their own, filtered by device.
 * EventSource reconnects by itself (the server sends `retry: 3000`).
 */
import type { LiveEventMessage, LiveScore } from './types.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting';

const eventListeners = new Set<(m: LiveEventMessage) => void>();
const stateListeners = new Set<(s: LiveState) => void>();
let shared: EventSource | undefined;
let state: LiveState = 'connecting';

function setState(next: LiveState): void {
  state = next;
  for (const l of stateListeners) l(next);
}

function ensureShared(): void {
  if (shared !== undefined) return;
  shared = new EventSource('/v1/stream?type=event');
  shared.addEventListener('open', () => setState('live'));
  shared.addEventListener('error', () => setState('reconnecting'));
  shared.addEventListener('event', (e) => {
    const message = JSON.parse((e as MessageEvent<string>).data) as LiveEventMessage;
    for (const l of eventListeners) l(message);
  });
}

/** Event changes (open, update, close, reopen); returns the unsubscribe function. */
export function onLiveEvent(listener: (m: LiveEventMessage) => void): () => void {
  ensureShared();
  eventListeners.add(listener);
  return () => eventListeners.delete(listener);
}

export function onLiveState(listener: (s: LiveState) => void): () => void {
  ensureShared();
  stateListeners.add(listener);
  listener(state);
  return () => stateListeners.delete(listener);
}

/** Scores of one device; closes its connection on unsubscribe. */
export function onLiveScores(device: string, listener: (s: LiveScore) => void): () => void {
  const source = new EventSource(`/v1/stream?type=score&device=${encodeURIComponent(device)}`);
  source.addEventListener('score', (e) => {
    listener(JSON.parse((e as MessageEvent<string>).data) as LiveScore);
  });
  return () => source.close();
}
