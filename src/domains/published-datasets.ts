import { ValidationError } from '../core/errors.js';
import type { Dataset } from '../data/dataset.js';
import { FEATURES_DATASETS, FEATURES_DOMAIN } from './features/index.js';
import { FINRA_DATASETS, FINRA_DOMAIN } from './finra/index.js';
import { FRED_DATASETS, FRED_DOMAIN } from './fred/index.js';
import { PRICES_DATASETS, PRICES_DOMAIN } from './prices/index.js';

/** Published datasets by domain: what `sluice data` and `GET /api/v1/data/:domain/:dataset` read. */
export const PUBLISHED_DATASETS: Readonly<Record<string, Readonly<Record<string, Dataset>>>> = {
  [FINRA_DOMAIN]: FINRA_DATASETS,
  [PRICES_DOMAIN]: PRICES_DATASETS,
  [FRED_DOMAIN]: FRED_DATASETS,
  [FEATURES_DOMAIN]: FEATURES_DATASETS,
};

export function findDataset(domain: string, name: string, fields = { domain: 'DOMAIN', dataset: 'DATASET' }): Dataset {
  const datasets = PUBLISHED_DATASETS[domain];
  if (!datasets)
    throw new ValidationError(fields.domain, domain, `name a domain with published datasets (known: ${Object.keys(PUBLISHED_DATASETS).sort().join(', ')})`);
  const ds = datasets[name];
  if (!ds) throw new ValidationError(fields.dataset, name, `name a dataset of ${domain} (known: ${Object.keys(datasets).join(', ')})`);
  return ds;
}
