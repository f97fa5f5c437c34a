/**
 * Routes a plugin registers without a way to pass `config` (@fastify/static, @fastify/swagger-ui)
 * are made `public` by registering the plugin in a context whose onRoute hook marks them.
 */
import type { FastifyInstance } from 'fastify';

/** Runs `register` in a child context of `app` where every route it adds is `public`. */
export async function registerPublic(
  app: FastifyInstance,
  register: (scope: FastifyInstance) => Promise<void>,
): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      route.config = { ...route.config, scope: 'public' };
    });
    await register(scope);
  });
}
