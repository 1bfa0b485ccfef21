import { EntityManager, IsNull } from 'typeorm';
import { ApiTokenEntity, TokenScope } from '../entities/api-token.entity';

export interface NewApiToken {
  id: string;
  name: string;
  tokenHash: string;
  departments: string[];
  scopes: TokenScope[];
}

export class ApiTokenRepository {
  constructor(private readonly manager: EntityManager) {}

  private get table() {
    return this.manager.getRepository(ApiTokenEntity);
  }

  async insert(token: NewApiToken): Promise<ApiTokenEntity> {
    await this.table.insert({ ...token, revokedAt: null });
    return (await this.table.findOneBy({ id: token.id }))!;
  }

  /** The live token with this hash, or null when unknown or revoked. */
  async findActiveByHash(tokenHash: string): Promise<ApiTokenEntity | null> {
    return this.table.findOne({ where: { tokenHash, revokedAt: IsNull() } });
  }

  async findActiveById(id: string): Promise<ApiTokenEntity | null> {
    return this.table.findOne({ where: { id, revokedAt: IsNull() } });
  }

  async list(): Promise<ApiTokenEntity[]> {
    return this.table.find({ order: { createdAt: 'ASC' } });
  }

  async revoke(id: string, at = new Date()): Promise<boolean> {
    const result = await this.table.update({ id, revokedAt: IsNull() }, { revokedAt: at });
    return (result.affected ?? 0) > 0;
  }
}
