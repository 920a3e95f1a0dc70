// One file per migration, in version order. A new migration is a new file here and one
// more line in this list; versions stay contiguous (health/readyz counts them).
import { migration as m0001 } from './0001-work-queue.js';
import { migration as m0002 } from './0002-schedule-ticks-and-leases.js';
import { migration as m0003 } from './0003-dependencies-between-partitions.js';
import { migration as m0004 } from './0004-attempts-by-start-time.js';
import { migration as m0005 } from './0005-backfills-and-schedule-pause.js';
import { migration as m0006 } from './0006-alert-outbox-and-partition-deadlines.js';
import { migration as m0007 } from './0007-partition-grid-summary.js';
import { migration as m0008 } from './0008-queue-write-path.js';
import { migration as m0009 } from './0009-completion-write-path.js';
import type { Migration } from '../../migration.js';

export const PG_MIGRATIONS: readonly Migration[] = [m0001, m0002, m0003, m0004, m0005, m0006, m0007, m0008, m0009];
