/**
 * Topic → subscription, device and tags, remembered per topic: a device publishes on the same
 * topic again and again, so matching the patterns and splitting the captures once per topic
 * (not once per message) takes that work off the per-message path. Bounded: the cache is
 * emptied when it reaches `maxTopics`, so a fleet with more topics than that only loses the
 * shortcut, never memory.
 */
import type { CompiledSubscription } from './subscriptions.js';

export interface TopicRoute {
  readonly subscription: CompiledSubscription;
  /** The `+device` capture, if the pattern has one. */
  readonly device: string | undefined;
  /** The other captures (tags), undefined when there are none. Shared: never mutate. */
  readonly tags: Readonly<Record<string, string>> | undefined;
}

export class TopicRoutes {
  private readonly known = new Map<string, TopicRoute | null>();

  constructor(
    private readonly subscriptions: readonly CompiledSubscription[],
    private readonly maxTopics = 100_000,
  ) {}

  /** The first subscription whose pattern matches `topic`, with its captures; undefined: none. */
  route(topic: string): TopicRoute | undefined {
    const cached = this.known.get(topic);
    if (cached !== undefined) return cached ?? undefined;
    const route = this.match(topic);
    if (this.known.size >= this.maxTopics) this.known.clear();
    this.known.set(topic, route ?? null);
    return route;
  }

  private match(topic: string): TopicRoute | undefined {
    for (const subscription of this.subscriptions) {
      const captures = subscription.pattern.match(topic);
      if (captures === undefined) continue;
      const { device, ...tags } = captures;
      return {
        subscription,
        device,
        tags: Object.keys(tags).length > 0 ? tags : undefined,
      };
    }
    return undefined;
  }
}
