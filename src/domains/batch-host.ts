import type { SluiceConfig } from '../config/schema.js';

/** What a domain needs of the running app to plan a batch (`planFinraBatch`, `planPricesBatch`, …). */
export interface BatchHost {
  config: SluiceConfig;
  /** The config file's directory (relative `data_dir` in the config resolves against it). */
  baseDir: string;
  /** `sqlite` or `postgres`, reported in the result's `config.database`. */
  backend: string;
  /** Where source variables are read (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}
