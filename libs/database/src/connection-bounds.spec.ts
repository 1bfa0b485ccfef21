import { boundedPoolOptions, CLIENT_GRACE_MS, StallSafeClient } from './connection-bounds';
import { dataSourceOptions } from './data-source-options';

describe('boundedPoolOptions', () => {
  it("bounds statements on the server, the client's wait a little beyond, and the wait for a connection", () => {
    expect(boundedPoolOptions({ statementMs: 5000, connectMs: 3000 })).toEqual({
      Client: StallSafeClient,
      statement_timeout: 5000,
      query_timeout: 5000 + CLIENT_GRACE_MS,
      connectionTimeoutMillis: 3000,
    });
  });

  it('goes into the pool options with timeouts (API, worker), and not without (CLI, migrations)', () => {
    const bounded = dataSourceOptions('postgres://u:p@127.0.0.1/db', {}, { statementMs: 5000, connectMs: 3000 });
    expect(bounded.extra).toMatchObject({ max: 20, statement_timeout: 5000, query_timeout: 6000, connectionTimeoutMillis: 3000 });
    const unbounded = dataSourceOptions('postgres://u:p@127.0.0.1/db');
    expect(unbounded.extra).not.toHaveProperty('statement_timeout');
    expect(unbounded.extra).not.toHaveProperty('query_timeout');
  });
});
