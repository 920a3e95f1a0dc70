import { z } from 'zod';
import type { ZodServer } from '../context.js';
import { errorBody, errorBodySchema } from '../errors.js';
import { pickErrors } from '../schemas.js';

export const MANIFEST_UNAVAILABLE =
  'The manifest (latest capture per domain, partition and stage) is not available in this version of Sluice: ' +
  'the data layer that records captures has not been built yet. This is not an empty manifest.';

/** Reserved for the data layer's manifest. Until it exists, a clear 501 rather than a fake
 * empty list that a readiness script could mistake for "nothing is ready". */
export function registerManifestRoutes(server: ZodServer): void {
  server.get(
    '/api/v1/manifest',
    {
      schema: {
        tags: ['data'],
        summary: 'Manifest: latest capture per (domain, partition, stage) — not available yet (501)',
        querystring: z.object({ domain: z.string().optional(), stage: z.string().optional() }).passthrough(),
        response: { 501: errorBodySchema, ...pickErrors(401) },
      },
    },
    async (_request, reply) => reply.code(501).send(errorBody('not_implemented', MANIFEST_UNAVAILABLE)),
  );
}
