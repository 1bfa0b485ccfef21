import { SecretBox } from '@pollarix/common';
import { EntityManager } from 'typeorm';
import { IdempotencyKeyEntity } from '../entities/idempotency-key.entity';
import { IDEMPOTENCY_SEALS, sealContext } from '../sealed-columns';

export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

export interface StoredResponse {
  requestHash: string;
  status: number;
  body: unknown;
}

const responseContext = (departmentId: string, key: string) => sealContext(IDEMPOTENCY_SEALS, [departmentId, key], 'response_sealed');

export class IdempotencyRepository {
  constructor(
    private readonly manager: EntityManager,
    private readonly box: SecretBox,
  ) {}

  /** The live (under 24 h old) response stored under this key, if any. */
  async find(departmentId: string, key: string, now = new Date()): Promise<StoredResponse | null> {
    const row = await this.manager
      .getRepository(IdempotencyKeyEntity)
      .createQueryBuilder('k')
      .where('k.department_id = :departmentId AND k.key = :key AND k.created_at > :since', {
        departmentId,
        key,
        since: new Date(now.getTime() - IDEMPOTENCY_TTL_MS),
      })
      .getOne();
    return row ? { requestHash: row.requestHash, status: row.responseStatus, body: this.box.openJson(row.responseSealed, responseContext(departmentId, key)) } : null;
  }

  /**
   * Records the response under the key, replacing an expired record. Returns false when a live record
   * already holds the key (a concurrent request won the race): the caller rolls back and replays it.
   */
  async save(departmentId: string, key: string, response: StoredResponse, now = new Date()): Promise<boolean> {
    const rows: unknown[] = await this.manager.query(
      `INSERT INTO idempotency_keys (department_id, key, request_hash, response_status, response_sealed, created_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (department_id, key) DO UPDATE
         SET request_hash = EXCLUDED.request_hash, response_status = EXCLUDED.response_status,
             response_sealed = EXCLUDED.response_sealed, created_at = EXCLUDED.created_at
         WHERE idempotency_keys.created_at <= $7
       RETURNING key`,
      [
        departmentId,
        key,
        response.requestHash,
        response.status,
        this.box.sealJson(response.body, responseContext(departmentId, key)),
        now,
        new Date(now.getTime() - IDEMPOTENCY_TTL_MS),
      ],
    );
    return rows.length > 0;
  }

  async purgeExpired(now = new Date()): Promise<number> {
    const result = await this.manager
      .createQueryBuilder()
      .delete()
      .from(IdempotencyKeyEntity)
      .where('created_at <= :before', { before: new Date(now.getTime() - IDEMPOTENCY_TTL_MS) })
      .execute();
    return result.affected ?? 0;
  }
}
