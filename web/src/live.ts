/**
 * The live stream (`/v1/stream`, Server-Sent Events). One shared connection for event changes,
 * whose state the header shows; views that need scores open their own, filtered by device.
 * EventSource reconnects by itself after a network error (the server sends `retry: 3000`), but
 * gives up on an error answer such as 401: that refusal is reported (the dashboard then checks
 * its session and shows the login) and the stream is opened again later, not left dead.
 * While signed out the stream is paused. Whatever was missed while the stream was down is not
 * replayed: once it is open again after an error, every view is told to re-sync (onLiveResync).
 */
import type { LiveEventMessage, LiveScore } from './types.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'paused';

/** How long after a refusal the stream is tried again (as the server's `retry`). */
const RETRY_MS = 3_000;

const eventListeners = new Set<(m: LiveEventMessage) => void>();
const stateListeners = new Set<(s: LiveState) => void>();
const resyncListeners = new Set<() => void>();
let state: LiveState = 'connecting';
let paused = false;
let refused: () => void = () => undefined;

function setState(next: LiveState): void {
  state = next;
  for (const l of stateListeners) l(next);
}

/** Who hears that the server refused a stream (answered an error status, e.g. 401). */
export function onLiveRefused(handler: () => void): void {
  refused = handler;
}

/**
 * An EventSource that, when refused, reports it and opens again after RETRY_MS unless closed or
 * paused; `close` ends it for good.
 */
function openSource(url: string, setup: (source: EventSource) => void): { close(): void } {
  let source: EventSource | undefined;
  let timer: number | undefined;
  let closed = false;
  const open = (): void => {
    if (closed) return;
    if (paused) {
      timer = window.setTimeout(open, RETRY_MS);
      return;
    }
    const s = new EventSource(url);
    source = s;
    setup(s);
    s.addEventListener('error', () => {
      if (s.readyState !== EventSource.CLOSED) return;
      refused();
      timer = window.setTimeout(open, RETRY_MS);
    });
  };
  open();
  return {
    close() {
      closed = true;
      window.clearTimeout(timer);
      source?.close();
    },
  };
}

let sharedHandle: { close(): void } | undefined;

function ensureShared(): void {
  if (sharedHandle !== undefined || paused) return;
  setState('connecting');
  // Set by an error (or a refusal), cleared by the next open, which then asks views to re-sync.
  let missed = false;
  sharedHandle = openSource('/v1/stream?type=event', (source) => {
    source.addEventListener('open', () => {
      setState('live');
      if (missed) {
        missed = false;
        for (const l of resyncListeners) l();
      }
    });
    source.addEventListener('error', () => {
      missed = true;
      setState('reconnecting');
    });
    source.addEventListener('event', (e) => {
      const message = JSON.parse((e as MessageEvent<string>).data) as LiveEventMessage;
      for (const l of eventListeners) l(message);
    });
  });
}

/** Close the shared stream and open none until resumeLive (signed out). */
export function pauseLive(): void {
  paused = true;
  sharedHandle?.close();
  sharedHandle = undefined;
  setState('paused');
}

/** Open the shared stream again (signed in). */
export function resumeLive(): void {
  paused = false;
  if (eventListeners.size > 0 || stateListeners.size > 0) ensureShared();
}

/** Event changes (open, update, close, reopen); returns the unsubscribe function. */
export function onLiveEvent(listener: (m: LiveEventMessage) => void): () => void {
  ensureShared();
  eventListeners.add(listener);
  return () => eventListeners.delete(listener);
}

/**
 * Called each time the shared stream opens again after it was down (server restart, network):
 * the view re-queries what it shows. Returns the unsubscribe function.
 */
export function onLiveResync(listener: () => void): () => void {
  ensureShared();
  resyncListeners.add(listener);
  return () => resyncListeners.delete(listener);
}

export function onLiveState(listener: (s: LiveState) => void): () => void {
  ensureShared();
  stateListeners.add(listener);
  listener(state);
  return () => stateListeners.delete(listener);
}

/** Scores of one device; closes its connection on unsubscribe. */
export function onLiveScores(device: string, listener: (s: LiveScore) => void): () => void {
  const url = `/v1/stream?type=score&device=${encodeURIComponent(device)}`;
  const handle = openSource(url, (source) =>
    source.addEventListener('score', (e) => {
      listener(JSON.parse((e as MessageEvent<string>).data) as LiveScore);
    }),
  );
  return () => handle.close();
}
