// Sluice dashboard: keeps server-rendered pages live by polling the JSON API. Loaded as a
// module; each page's script lives in its own file, sharing common.js and the server's
// time rule (time-format.js) verbatim.
import { body } from './common.js';
import { overviewPage } from './page-overview.js';
import { itemPage, workPage } from './page-work.js';
import { gridPage } from './page-grid.js';
import { schedulesPage } from './page-schedules.js';
import { backfillPage } from './page-backfill.js';

const pages = { overview: overviewPage, work: workPage, item: itemPage, grid: gridPage, schedules: schedulesPage, backfill: backfillPage };
const start = pages[body.dataset.page];
if (start) start();
