/**
 * For tests: the shared test service (src/server/testing) with the remote-write route, as
 * `vigil serve` wires it.
 */
import { startTestService, type TestService } from '../../server/testing/running-service.js';
import { registerRemoteWriteRoutes, type RemoteWriteOptions } from './routes.js';

export type RunningVigil = TestService;

export function startVigil(
  options: {
    queueLimit?: number;
    mapping?: RemoteWriteOptions['mapping'];
    /** Record metadata units into the service's store. */
    units?: boolean;
    limits?: RemoteWriteOptions['limits'];
  } = {},
): Promise<RunningVigil> {
  return startTestService({
    ...(options.queueLimit === undefined ? {} : { queueLimit: options.queueLimit }),
    routes: ({ app, engine, registry, store }) =>
      registerRemoteWriteRoutes(app, {
        engine,
        registry,
        ...(options.units === true ? { units: store.metricUnits } : {}),
        ...(options.mapping ? { mapping: options.mapping } : {}),
        ...(options.limits ? { limits: options.limits } : {}),
      }),
  });
}
