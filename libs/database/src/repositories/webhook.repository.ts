import { SecretBox, UnsealError } from '@pollarix/common';
import { EntityManager } from 'typeorm';
import { WebhookEntity } from '../entities/webhook.entity';
import { webhookSealContext } from '../sealed-columns';
import { returningRows } from './raw-query';

/** A webhook as the rest of the code sees it: header values in clear, secrets kept apart. */
export interface Webhook {
  id: string;
  departmentId: string;
  name: string;
  url: string;
  events: string[];
  headers: Record<string, string>;
  /**
   * True when the sealed headers do not open (their key left the key ring): `headers` is then empty.
   * Reads for the API show the webhook anyway; an attempt refuses it (`holdTarget` opens strictly).
   */
  headersUnreadable: boolean;
  isActive: boolean;
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface WebhookFields {
  name: string;
  url: string;
  events: string[];
  headers: Record<string, string>;
  isActive: boolean;
}

/** The secrets that sign a delivery: the current one, and the previous one while a rotation overlaps. */
export interface SigningSecrets {
  current: string;
  previous: string | null;
}

/** A webhook's current run of failed deliveries (no success in between). */
export interface FailureStreak {
  failures: number;
  /** Creation of the streak's earliest failed delivery. */
  failingSince: Date;
}

/** What an attempt sends with: the webhook as it is now and its signing secrets (two during a rotation). */
export interface DeliveryTarget {
  webhook: Webhook;
  secrets: string[];
}

/**
 * A delivery target to hold for a while (a cache): every secret that may still sign, the previous one
 * with its expiry, so that which of them sign is decided when sending (`signingSecretsAt`).
 */
export interface HeldTarget {
  webhook: Webhook;
  secret: string;
  previous: { secret: string; expiresAt: Date } | null;
}

/**
 * A webhook as `findTargets` read it: its target opened, or why its sealed columns cannot be opened
 * (that webhook alone cannot be sent to). The other fields are read in clear, so they are there either way.
 */
export interface WebhookTargetLoad {
  id: string;
  departmentId: string;
  isActive: boolean;
  updatedAt: Date;
  target: HeldTarget | null;
  /** Set exactly when target is null. */
  error: string | null;
}

/** The secrets that sign at `now`: the current one, and the previous one until it expires. */
export function signingSecretsAt(held: HeldTarget, now = new Date()): string[] {
  return held.previous && held.previous.expiresAt > now ? [held.secret, held.previous.secret] : [held.secret];
}

/** The target to send with at `now`. */
export function deliveryTargetAt(held: HeldTarget, now = new Date()): DeliveryTarget {
  return { webhook: held.webhook, secrets: signingSecretsAt(held, now) };
}

/** The webhook columns a delivery target is made of, named as the entity's properties. */
export type WebhookTargetRow = Pick<
  WebhookEntity,
  | 'id'
  | 'departmentId'
  | 'name'
  | 'url'
  | 'events'
  | 'headersSealed'
  | 'isActive'
  | 'disabledReason'
  | 'createdAt'
  | 'updatedAt'
  | 'secretSealed'
  | 'previousSecretSealed'
  | 'previousSecretExpiresAt'
>;

/** The select list of a WebhookTargetRow from the webhooks table under `alias`, for raw queries. */
function webhookTargetColumns(alias: string): string {
  return [
    `${alias}.id`,
    `${alias}.department_id AS "departmentId"`,
    `${alias}.name`,
    `${alias}.url`,
    `${alias}.events`,
    `${alias}.headers_sealed AS "headersSealed"`,
    `${alias}.is_active AS "isActive"`,
    `${alias}.disabled_reason AS "disabledReason"`,
    `${alias}.created_at AS "createdAt"`,
    `${alias}.updated_at AS "updatedAt"`,
    `${alias}.secret_sealed AS "secretSealed"`,
    `${alias}.previous_secret_sealed AS "previousSecretSealed"`,
    `${alias}.previous_secret_expires_at AS "previousSecretExpiresAt"`,
  ].join(', ');
}

/**
 * Reads and writes webhooks (the API, test-send, and the worker's failing streaks and disabling); seals
 * header values and secrets on the way in.
 * The delivery and event repositories also touch the table: fan-out (at publish and the older release's)
 * reads subscriptions, and the outcome write ends failing streaks.
 */
export class WebhookRepository {
  constructor(
    private readonly manager: EntityManager,
    private readonly box: SecretBox,
  ) {}

  private get table() {
    return this.manager.getRepository(WebhookEntity);
  }

  /** The webhook from its row; headers that do not open are empty and flagged, unless `strict` (then UnsealError). */
  private toWebhook(row: Omit<WebhookTargetRow, 'secretSealed' | 'previousSecretSealed' | 'previousSecretExpiresAt'>, strict = false): Webhook {
    const open = () => this.box.openJson<Record<string, string>>(row.headersSealed, webhookSealContext(row.id, 'headers_sealed'));
    const headers = strict ? open() : openOrNull(open);
    return {
      id: row.id,
      departmentId: row.departmentId,
      name: row.name,
      url: row.url,
      events: row.events,
      headers: headers ?? {},
      headersUnreadable: headers === null,
      isActive: row.isActive,
      disabledReason: row.disabledReason,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  async listByDepartment(departmentId: string): Promise<Webhook[]> {
    const rows = await this.table.find({ where: { departmentId }, order: { createdAt: 'ASC', id: 'ASC' } });
    return rows.map((row) => this.toWebhook(row));
  }

  async findInDepartment(departmentId: string, id: string): Promise<Webhook | null> {
    const row = await this.table.findOne({ where: { departmentId, id } });
    return row ? this.toWebhook(row) : null;
  }

  async countInDepartment(departmentId: string): Promise<number> {
    return this.table.count({ where: { departmentId } });
  }

  /** Serialises writers of one department until the transaction ends (plan limit checks). */
  async lockDepartment(departmentId: string): Promise<void> {
    await this.manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`webhooks:${departmentId}`]);
  }

  async insert(id: string, departmentId: string, fields: WebhookFields, secret: string): Promise<Webhook> {
    const row = this.table.create({
      id,
      departmentId,
      name: fields.name,
      url: fields.url,
      events: fields.events,
      headersSealed: this.box.sealJson(fields.headers, webhookSealContext(id, 'headers_sealed')),
      secretSealed: this.box.seal(secret, webhookSealContext(id, 'secret_sealed')),
      previousSecretSealed: null,
      previousSecretExpiresAt: null,
      isActive: fields.isActive,
      disabledReason: null,
    });
    await this.table.insert(row);
    return (await this.findInDepartment(departmentId, id))!;
  }

  /** Full replace of the editable fields; re-enabling clears the reason it was disabled. */
  async update(departmentId: string, id: string, fields: WebhookFields): Promise<Webhook | null> {
    const result = await this.table.update(
      { departmentId, id },
      {
        name: fields.name,
        url: fields.url,
        events: fields.events,
        headersSealed: this.box.sealJson(fields.headers, webhookSealContext(id, 'headers_sealed')),
        isActive: fields.isActive,
        ...(fields.isActive ? { disabledReason: null } : {}),
      },
    );
    return result.affected ? this.findInDepartment(departmentId, id) : null;
  }

  async delete(departmentId: string, id: string): Promise<boolean> {
    const result = await this.table.delete({ departmentId, id });
    return (result.affected ?? 0) > 0;
  }

  async getSigningSecrets(departmentId: string, id: string, now = new Date()): Promise<SigningSecrets | null> {
    const row = await this.table.findOne({
      where: { departmentId, id },
      select: { id: true, secretSealed: true, previousSecretSealed: true, previousSecretExpiresAt: true },
    });
    if (!row) return null;
    const overlapping = row.previousSecretSealed && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now;
    return {
      current: this.box.open(row.secretSealed, webhookSealContext(id, 'secret_sealed')),
      previous: overlapping ? this.box.open(row.previousSecretSealed!, webhookSealContext(id, 'previous_secret_sealed')) : null,
    };
  }

  /** The webhook as an attempt needs it now: current URL, headers and signing secrets; null if deleted. */
  async findForDelivery(id: string, now = new Date()): Promise<DeliveryTarget | null> {
    const [row]: WebhookTargetRow[] = await this.manager.query(`SELECT ${webhookTargetColumns('w')} FROM webhooks w WHERE w.id = $1`, [id]);
    return row ? this.openTarget(row, now) : null;
  }

  /** A delivery target from its sealed row. */
  private openTarget(row: WebhookTargetRow, now = new Date()): DeliveryTarget {
    return deliveryTargetAt(this.holdTarget(row, now), now);
  }

  /** A target to hold from its sealed row; a previous secret already expired at `now` is not opened (it never signs again). */
  holdTarget(row: WebhookTargetRow, now = new Date()): HeldTarget {
    const expiresAt = row.previousSecretExpiresAt;
    const previous =
      row.previousSecretSealed && expiresAt && expiresAt > now
        ? { secret: this.box.open(row.previousSecretSealed, webhookSealContext(row.id, 'previous_secret_sealed')), expiresAt }
        : null;
    return { webhook: this.toWebhook(row, true), secret: this.box.open(row.secretSealed, webhookSealContext(row.id, 'secret_sealed')), previous };
  }

  /**
   * The webhooks an attempt batch sends to, in one query, whether active or not; a webhook whose sealed
   * columns cannot be opened comes with its error instead of failing the others. Deleted ones are absent.
   */
  async findTargets(ids: string[], now = new Date()): Promise<Map<string, WebhookTargetLoad>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map();
    const rows: WebhookTargetRow[] = await this.manager.query(`SELECT ${webhookTargetColumns('w')} FROM webhooks w WHERE w.id = ANY($1)`, [unique]);
    const loads = new Map<string, WebhookTargetLoad>();
    for (const row of rows) {
      const load = { id: row.id, departmentId: row.departmentId, isActive: row.isActive, updatedAt: row.updatedAt };
      try {
        loads.set(row.id, { ...load, target: this.holdTarget(row, now), error: null });
      } catch (error) {
        loads.set(row.id, { ...load, target: null, error: (error as Error).message });
      }
    }
    return loads;
  }

  /**
   * Counts a failed delivery into the webhook's streak, which began at the earliest failed delivery's
   * creation; returns the streak as it now is (null when the webhook is gone). Whether that disables the
   * webhook is the delivery lifecycle's call (shouldAutoDisable), carried out with `disable`.
   */
  async recordFailedDelivery(id: string, deliveryCreatedAt: Date): Promise<FailureStreak | null> {
    const rows = await returningRows<{ failure_streak: number; failing_since: Date }>(
      this.manager,
      `UPDATE webhooks
          SET failure_streak = failure_streak + 1, failing_since = LEAST(COALESCE(failing_since, $2), $2)
        WHERE id = $1
       RETURNING failure_streak, failing_since`,
      [id, deliveryCreatedAt],
    );
    return rows.length > 0 ? { failures: rows[0].failure_streak, failingSince: rows[0].failing_since } : null;
  }

  /** Sets an active webhook inactive with a reason; true when it was active. */
  async disable(id: string, reason: string): Promise<boolean> {
    const result = await this.table.update({ id, isActive: true }, { isActive: false, disabledReason: reason });
    return (result.affected ?? 0) > 0;
  }

  /**
   * The current secret becomes the previous one, signing alongside the new one until `overlapUntil`.
   * The current secret is opened and sealed again as the previous one (each column has its own
   * associated data), written only if the current secret is still the one read: a concurrent rotation
   * makes this one read again, so each rotation keeps the secret the one before it set. A current secret
   * that cannot be opened (its key left the ring) has nothing to overlap with: rotating heals the webhook.
   */
  async rotateSecret(departmentId: string, id: string, secret: string, overlapUntil: Date): Promise<boolean> {
    for (;;) {
      const row = await this.table.findOne({ where: { departmentId, id }, select: { id: true, secretSealed: true } });
      if (!row) return false;
      const previous = openOrNull(() => this.box.open(row.secretSealed, webhookSealContext(id, 'secret_sealed')));
      const result = await this.manager
        .createQueryBuilder()
        .update(WebhookEntity)
        .set({
          previousSecretSealed: previous === null ? null : this.box.seal(previous, webhookSealContext(id, 'previous_secret_sealed')),
          previousSecretExpiresAt: previous === null ? null : overlapUntil,
          secretSealed: this.box.seal(secret, webhookSealContext(id, 'secret_sealed')),
        })
        .where('department_id = :departmentId AND id = :id AND secret_sealed = :read', { departmentId, id, read: row.secretSealed })
        .execute();
      if ((result.affected ?? 0) > 0) return true;
    }
  }
}

/** The opened value, or null when it does not open with any listed key (UnsealError); other errors throw. */
function openOrNull<T>(open: () => T): T | null {
  try {
    return open();
  } catch (error) {
    if (error instanceof UnsealError) return null;
    throw error;
  }
}
