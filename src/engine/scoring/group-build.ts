/**
 * Building a device group's pipeline can fail on input the strategy check could not see: an
 * `onnx` model file that is missing or does not fit the device's metric count, a training period
 * too short for that many metrics. Such a failure must cost that device its scores, never the
 * process: the group's points stay stored, unscored, and the build is tried again after
 * `RETRY_AFTER_POINTS` of its points (a model put in place later is picked up).
 */
import { compileDeviceStrategy } from '../../core/strategy/compile.js';
import type { DevicePipeline } from '../../core/strategy/pipeline.js';
import type { Route } from './routes.js';

export const RETRY_AFTER_POINTS = 1_000;

/** Per shard: points each failed group still skips before its next try, and what was said. */
export class FailedGroupBuilds {
  private readonly skips = new Map<string, number>();
  private readonly reported = new Map<string, string>();

  /** The group's pipeline, or undefined while its build fails (warned once per new reason). */
  build(
    key: string,
    route: Route,
    device: string,
    metrics: readonly string[],
  ): DevicePipeline | undefined {
    const skip = this.skips.get(key);
    if (skip !== undefined && skip > 0) {
      this.skips.set(key, skip - 1);
      return undefined;
    }
    try {
      const pipeline = compileDeviceStrategy(route.strategy, metrics)(device);
      this.skips.delete(key);
      this.reported.delete(key);
      return pipeline;
    } catch (error) {
      this.skips.set(key, RETRY_AFTER_POINTS);
      const reason = error instanceof Error ? error.message : String(error);
      if (this.reported.get(key) !== reason) {
        this.reported.set(key, reason);
        process.emitWarning(
          `device ${device} is not scored by ${route.label} (retried after ${RETRY_AFTER_POINTS} of its points): ${reason}`,
          { code: 'VIGIL_PIPELINE_BUILD_FAILED' },
        );
      }
      return undefined;
    }
  }

  /** How many groups are failing now (tests, stats). */
  get size(): number {
    return this.skips.size;
  }
}
