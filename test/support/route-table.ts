// The routes an Express app really serves, read from its router stack (not from a hand-kept list), so a test
// built on it covers a route the moment it is mounted.
import type express from 'express';

export interface MountedRoute {
  method: string;
  /** Express path, e.g. `/api/v1/subscriptions/:external_id`. */
  path: string;
  /** OpenAPI template, e.g. `/api/v1/subscriptions/{external_id}`. */
  template: string;
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  rawPath?: string;
  handle?: { stack?: Layer[] };
}

export function mountedRoutes(app: express.Express): MountedRoute[] {
  const out: MountedRoute[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      const p = layer.rawPath === '/' || layer.rawPath === undefined ? '' : String(layer.rawPath);
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) {
          const path = prefix + layer.route.path;
          out.push({ method: method.toUpperCase(), path, template: path.replace(/:([A-Za-z0-9_]+)/g, '{$1}') });
        }
      } else if (Array.isArray(layer.handle?.stack)) {
        walk(layer.handle!.stack!, prefix + p);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return out;
}

/** The authenticated API routes (under /api/v1, the OpenAPI document itself excluded), paths relative to /api/v1. */
export function apiRoutes(app: express.Express): MountedRoute[] {
  return mountedRoutes(app)
    .filter((r) => r.path.startsWith('/api/v1/') && r.path !== '/api/v1/openapi.json')
    .map((r) => ({ method: r.method, path: r.path.slice('/api/v1'.length), template: r.template.slice('/api/v1'.length) }));
}

/** `/subscriptions/{external_id}/alerts` matches `/subscriptions/sub-1/alerts?page=2`. */
export function matchesTemplate(template: string, path: string): boolean {
  const re = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);
  return re.test(path.split('?')[0]!);
}
