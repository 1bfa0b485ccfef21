/** Why a redeliver or recover was refused; each entry point (API, CLI) words it in its own way. */
export type LifecycleRefusalReason = 'webhook_not_found' | 'webhook_inactive' | 'delivery_not_found' | 'delivery_pending' | 'empty_window';

export class LifecycleRefusal extends Error {
  constructor(
    readonly reason: LifecycleRefusalReason,
    readonly webhookId: string,
    readonly details: { deliveryId?: string; disabledReason?: string | null } = {},
  ) {
    super(`${reason}: webhook ${webhookId}${details.deliveryId ? `, delivery ${details.deliveryId}` : ''}`);
    this.name = 'LifecycleRefusal';
  }
}

/** A recover window [since, until) must hold some time; `until` absent means up to now. */
export function isRecoverWindow(since: Date, until?: Date): boolean {
  return until === undefined || until > since;
}
