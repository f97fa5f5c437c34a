/** What every alert destination implements (Alertmanager, webhooks). */
import type { IncidentChange } from './incident.js';

/** What a sink is told of an acknowledgement. */
export interface AcknowledgedIncident {
  readonly id: string;
  /** The token name of who acknowledged it; null when authentication is off. */
  readonly by: string | null;
}

export interface AlertSink {
  /** The configured name: metrics and dead letters are labelled with it. */
  readonly name: string;
  readonly kind: 'alertmanager' | 'webhook';
  /**
   * Take one incident change. Never throws and never blocks: delivery happens in the
   * background, with the sink's own queue, retries and failure handling.
   */
  notify(change: IncidentChange): void;
  /** A person acknowledged an incident (never throws, never blocks). */
  acknowledge?(incident: AcknowledgedIncident): void;
  /** A person resolved an incident whose events may still be open (never throws or blocks). */
  resolve?(incidentId: string): void;
  /**
   * Deliver what is pending, waiting at most `flushTimeoutMs`, then stop. A webhook sink
   * dead-letters what it could not deliver by then (reason `shutdown`).
   */
  close(flushTimeoutMs: number): Promise<void>;
}

/** The message of an unknown error, for logs and dead letters. */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}
