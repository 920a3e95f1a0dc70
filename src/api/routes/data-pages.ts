import { z } from 'zod';
import { parseAsOf } from '../../data/as-of-ref.js';
import { findDataset, PUBLISHED_DATASETS } from '../../domains/published-datasets.js';
import { diffCaptures } from '../capture-diff.js';
import type { ServerContext, ZodServer } from '../context.js';
import { capturesBody, dataIndexBody, datasetBody, diffBody, manifestBody } from '../dashboard/data-pages.js';
import { page, type Shell } from '../dashboard/pages.js';
import { diffQuery } from './captures.js';
import { sendPage } from './dashboard.js';

type ShellOf = (s: Omit<Shell, 'database' | 'authEnabled'>) => Shell;
const blank = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v.trim());

/** Dashboard pages over the data layer: /manifest, /captures, /captures/diff, /data. */
export function registerDataPages(server: ZodServer, { app }: ServerContext, shell: ShellOf): void {
  const hidden = { hide: true } as const;
  const config = { dashboard: true };

  /** Domains that have landed something, then those with published datasets. */
  const knownDomains = async () => [...new Set([...(await app.data.manifest()).map((e) => e.domain), ...Object.keys(PUBLISHED_DATASETS)])].sort();

  server.get('/manifest', { schema: { ...hidden, querystring: z.object({ domain: z.string().optional() }) }, config }, async (request, reply) => {
    const domain = blank(request.query.domain);
    const [entries, domains] = await Promise.all([app.data.manifest({ domain }), knownDomains()]);
    return sendPage(reply, page(shell({ title: 'Readiness', page: 'manifest' }), manifestBody(entries, domain, domains)));
  });

  server.get(
    '/captures',
    {
      schema: { ...hidden, querystring: z.object({ domain: z.string().optional(), partition_key: z.string().optional(), stage: z.string().optional() }) },
      config,
    },
    async (request, reply) => {
      const domains = await knownDomains();
      const domain = blank(request.query.domain) ?? domains[0] ?? 'finra.otc_transparency';
      const partitionKey = blank(request.query.partition_key);
      const stage = blank(request.query.stage);
      const [captures, anomalies] = await Promise.all([
        app.data.listCaptures({ domain, partitionKey, stage }),
        app.data.anomalies({ domain, partitionKey, stage }),
      ]);
      return sendPage(
        reply,
        page(shell({ title: `Captures · ${domain}`, page: 'captures' }), capturesBody({ domain, partitionKey, stage, domains, captures, anomalies })),
      );
    },
  );

  server.get('/captures/diff', { schema: { ...hidden, querystring: diffQuery }, config }, async (request, reply) => {
    const d = await diffCaptures(app.data, request.query.capture_id, request.query.against, request.query.sample);
    return sendPage(reply, page(shell({ title: `Restatement · ${d.capture.capture_id}`, page: 'diff' }), diffBody(d)));
  });

  server.get('/data', { schema: hidden, config }, async (_req, reply) =>
    sendPage(
      reply,
      page(
        shell({ title: 'Datasets', page: 'data' }),
        dataIndexBody(PUBLISHED_DATASETS as Record<string, Record<string, import('../../data/dataset.js').Dataset>>),
      ),
    ),
  );

  server.get(
    '/data/:domain/:dataset',
    {
      schema: { ...hidden, params: z.object({ domain: z.string().min(1), dataset: z.string().min(1) }), querystring: z.record(z.string(), z.string()) },
      config,
    },
    async (request, reply) => {
      const ds = findDataset(request.params.domain, request.params.dataset, { domain: 'domain', dataset: 'dataset' });
      const { as_of: asOfRaw, ...rest } = request.query;
      const asOfText = blank(asOfRaw);
      // Empty form fields are "no filter", not "equals the empty string".
      const filters = Object.fromEntries(Object.entries(rest).filter(([, v]) => v.trim() !== ''));
      const asOf = parseAsOf(asOfText, 'as_of');
      const where = Object.keys(filters).length ? filters : undefined;
      const rows = asOf ? await app.data.asOf(ds, asOf, where) : await app.data.latest(ds, { where });
      return sendPage(reply, page(shell({ title: `${ds.domain}.${ds.name}`, page: 'data' }), datasetBody(ds, { asOf: asOfText, filters, rows })));
    },
  );
}
