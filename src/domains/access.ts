import type { SluiceConfig } from '../config/schema.js';
import { accessPolicy, withHosts, type AccessPolicy } from '../connectors/access.js';

/**
 * The access policy for values a work item carries (params `data_dir`, `export_dir`,
 * `base_url`): the config's `access` section, relative to the config's directory, plus the
 * public API hosts of the domain's own vendors (the URLs it uses when none is given).
 */
export function itemAccessPolicy(options: { config?: SluiceConfig; baseDir?: string }, vendorUrls: readonly string[] = []): AccessPolicy {
  const policy = accessPolicy(options.baseDir ?? process.cwd(), options.config?.access);
  return withHosts(
    policy,
    vendorUrls.map((u) => new URL(u).host),
  );
}
