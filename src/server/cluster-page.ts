/**
 * The live cluster page on the operator HTTP port (--http-port):
 *
 *   /                 the page (src/server/page/index.html)
 *   /assets/app.js    its script, /assets/app.css its style
 *   /api/cluster      the whole cluster as this node sees it (cluster-view.ts)
 *   /api/node         this node's own status only
 *
 * The page polls /api/cluster and keeps the history (the throughput graph)
 * itself. The files are plain, served from memory as the build copied them
 * (scripts/copy-page-assets.mjs): no build step for users, nothing fetched
 * from elsewhere.
 */
import fs from 'node:fs';
import { aggregate, type ClusterSource } from './cluster-view.js';
import { send, type HttpServer } from './http.js';

/** Where the page's files are: beside this module once built (dist/server/page), in src/ when run from source. */
const PAGE_DIR = new URL('./page/', import.meta.url);

const ASSETS: ReadonlyArray<[route: string, file: string, type: string]> = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/assets/app.js', 'app.js', 'text/javascript; charset=utf-8'],
  ['/assets/app.css', 'app.css', 'text/css; charset=utf-8'],
];

export function registerClusterPage(http: HttpServer, source: ClusterSource): void {
  for (const [route, file, type] of ASSETS) {
    const body = fs.readFileSync(new URL(file, PAGE_DIR));
    http.route(route, (_req, res) => send(res, 200, type, body));
  }
  http.route('/api/cluster', async (_req, res) => {
    const g = await source.gather();
    send(res, 200, 'application/json; charset=utf-8', JSON.stringify(aggregate(g, source.members)));
  });
  http.route('/api/node', (_req, res) => send(res, 200, 'application/json; charset=utf-8', JSON.stringify(source.local())));
}
