import type { SessionInfo } from './api';

export interface Route {
  dept?: string;
  webhook?: string;
  delivery?: string;
  page: 'home' | 'list' | 'new' | 'webhook' | 'edit' | 'delivery';
}

/** The console's screens live in the URL's fragment: one index.html, links that work with the keyboard and history. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== 'd' || !parts[1]) return { page: 'home' };
  const dept = parts[1];
  if (parts[2] === 'new') return { page: 'new', dept };
  if (parts[2] !== 'w' || !parts[3]) return { page: 'list', dept };
  const webhook = parts[3];
  if (parts[4] === 'edit') return { page: 'edit', dept, webhook };
  if (parts[4] === 'deliveries' && parts[5]) return { page: 'delivery', dept, webhook, delivery: parts[5] };
  return { page: 'webhook', dept, webhook };
}

export const href = {
  list: (dept: string) => `#/d/${encodeURIComponent(dept)}`,
  create: (dept: string) => `#/d/${encodeURIComponent(dept)}/new`,
  webhook: (dept: string, id: string) => `#/d/${encodeURIComponent(dept)}/w/${encodeURIComponent(id)}`,
  edit: (dept: string, id: string) => `${href.webhook(dept, id)}/edit`,
  delivery: (dept: string, id: string, delivery: string) => `${href.webhook(dept, id)}/deliveries/${encodeURIComponent(delivery)}`,
};

export function navigate(hash: string): void {
  location.hash = hash;
}

export function canWrite(session: SessionInfo): boolean {
  return session.scopes.includes('webhooks:write') || session.scopes.includes('admin');
}
