import type { DeliveryStatus } from '@pollarix/database';

/*
 * The moves a delivery makes (SPEC §7), carried out by the repository's statements with the statuses below:
 *   attempt   pending → pending (a retry is due), succeeded or failed; a delivery cancelled while its
 *             attempt was in flight counts the attempt and stays cancelled.
 *   cancel    pending → cancelled (its webhook deleted, deactivated or disabled).
 *   restart   succeeded, failed or cancelled → pending, in a new attempt chain (redeliver, recover).
 */

/**
 * Where an attempt's outcome may still be written (recordOutcomes): in flight when its delivery was
 * cancelled counts too, and the delivery stays cancelled.
 */
export const ATTEMPT_RECORDABLE_STATUSES: readonly DeliveryStatus[] = ['pending', 'cancelled'];

/** What a cancel takes: only what is still waiting to be sent. */
export const CANCELLABLE_STATUSES: readonly DeliveryStatus[] = ['pending'];

/** What redeliver takes: anything done; a pending delivery will be attempted again on its own. */
export const REDELIVERABLE_STATUSES: readonly DeliveryStatus[] = ['succeeded', 'failed', 'cancelled'];

/** What `recover` (API and CLI) starts again. */
export const RECOVERABLE_STATUSES: readonly DeliveryStatus[] = ['failed', 'cancelled'];
