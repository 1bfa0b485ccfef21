/**
 * The reference's own examples, unchanged but for the base URL and token: the curl commands, the Node
 * WebhookManager with axios and the Python WebhookManager with requests, against the real app.
 */
import axios from 'axios';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { Receiver, startReceiver } from '../support/receiver';

const run = promisify(execFile);

class WebhookManager {
  client: ReturnType<typeof axios.create>;
  departmentId: string;
  constructor(apiToken: string, departmentId: string, baseURL: string) {
    this.client = axios.create({
      baseURL,
      headers: {
        Authorization: `Bearer ${apiToken}`,
        'Content-Type': 'application/json',
      },
    });
    this.departmentId = departmentId;
  }
  async list() {
    const { data } = await this.client.get(`/department/${this.departmentId}/webhook/`);
    return data.webhooks;
  }
  async create(webhook: object) {
    const { data } = await this.client.post(`/department/${this.departmentId}/webhook/`, webhook);
    return data;
  }
  async update(webhookId: string, webhook: object) {
    const { data } = await this.client.put(`/department/${this.departmentId}/webhook/${webhookId}`, { id: webhookId, ...webhook });
    return data;
  }
  async delete(webhookId: string) {
    await this.client.delete(`/department/${this.departmentId}/webhook/${webhookId}`);
  }
  async test(url: string) {
    await this.client.post(`/department/${this.departmentId}/webhook/test-send`, { url });
  }
}

const PYTHON_MANAGER = `
import requests, sys, json
from typing import List, Dict, Optional

class WebhookManager:
    def __init__(self, api_token: str, department_id: str):
        self.base_url = BASE_URL
        self.headers = {
            'Authorization': f'Bearer {api_token}',
            'Content-Type': 'application/json'
        }
        self.department_id = department_id

    def list(self) -> List[Dict]:
        response = requests.get(
            f'{self.base_url}/department/{self.department_id}/webhook/',
            headers=self.headers
        )
        response.raise_for_status()
        return response.json()['webhooks']

    def create(self, webhook: Dict) -> Dict:
        response = requests.post(
            f'{self.base_url}/department/{self.department_id}/webhook/',
            json=webhook,
            headers=self.headers
        )
        response.raise_for_status()
        return response.json()

    def update(self, webhook_id: str, webhook: Dict) -> Dict:
        response = requests.put(
            f'{self.base_url}/department/{self.department_id}/webhook/{webhook_id}',
            json={'id': webhook_id, **webhook},
            headers=self.headers
        )
        response.raise_for_status()
        return response.json()

    def delete(self, webhook_id: str) -> None:
        response = requests.delete(
            f'{self.base_url}/department/{self.department_id}/webhook/{webhook_id}',
            headers=self.headers
        )
        response.raise_for_status()

    def test(self, url: str) -> None:
        response = requests.post(
            f'{self.base_url}/department/{self.department_id}/webhook/test-send',
            json={'url': url},
            headers=self.headers
        )
        response.raise_for_status()

manager = WebhookManager(TOKEN, DEPT)
created = manager.create({
    'name': 'My Integration',
    'url': 'https://my-server.com/webhooks',
    'events': ['SURVEY_COMPLETED'],
    'isActive': True
})
wid = created['webhooks'][0]['id']
response = requests.post(
    f'{BASE_URL}/department/{DEPT}/webhook/add',
    json={
        'name': 'Analytics Pipeline',
        'url': 'https://analytics.company.com/ingest',
        'events': ['SURVEY_COMPLETED'],
        'isActive': True
    },
    headers={'Authorization': f'Bearer {TOKEN}'}
)
assert response.status_code == 201, response.text
manager.update(wid, {
    'name': 'Updated CRM Sync',
    'url': 'https://your-server.com/webhooks/v2/pollarix',
    'events': ['SURVEY_COMPLETED'],
    'headers': {},
    'isActive': False
})
manager.test(RECEIVER)
webhooks = manager.list()
manager.delete(response.json()['webhooks'][0]['id'])
print(json.dumps({'webhooks': webhooks, 'after': manager.list()}))
`;

describe('the reference examples work unchanged', () => {
  let api: TestApi;
  let receiver: Receiver;
  let dept: string;
  let token: string;

  beforeAll(async () => {
    api = await startApi({ DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true' });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await api.close();
  });
  beforeEach(async () => {
    dept = uniqueDepartment('dept_xyz789');
    token = await api.token([dept]);
  });

  it('curl: list, create, add, update, delete, test-send', async () => {
    const curl = async (...args: string[]) => {
      const { stdout } = await run('curl', ['-s', '-w', '\n%{http_code}', ...args]);
      const lines = stdout.trimEnd().split('\n');
      const status = Number(lines.pop());
      return { status, body: lines.join('\n') ? JSON.parse(lines.join('\n')) : null };
    };
    const url = (p: string) => `${api.baseUrl}/department/${dept}/webhook/${p}`;
    const auth = ['-H', `Authorization: Bearer ${token}`];
    const json = ['-H', 'Content-Type: application/json'];

    expect((await curl('-X', 'GET', url(''), ...auth, ...json)).status).toBe(200);
    const created = await curl(
      '-X',
      'POST',
      url(''),
      ...auth,
      ...json,
      '-d',
      `{
"name": "CRM Integration",
"url": "https://your-server.com/webhooks/pollarix",
"events": ["SURVEY_COMPLETED"],
"headers": {
"Authorization": "Bearer secret123"
},
"isActive": true
}`,
    );
    expect(created.status).toBe(201);
    const id = created.body.webhooks[0].id;
    const added = await curl(
      '-X',
      'POST',
      url('add'),
      ...auth,
      ...json,
      '-d',
      `{
"name": "Analytics Pipeline",
"url": "https://analytics.company.com/ingest",
"events": ["SURVEY_COMPLETED"],
"isActive": true
}`,
    );
    expect(added.status).toBe(201);
    const updated = await curl(
      '-X',
      'PUT',
      url(id),
      ...auth,
      ...json,
      '-d',
      `{
"id": "${id}",
"name": "Updated CRM Sync",
"url": "https://your-server.com/webhooks/v2/pollarix",
"events": ["SURVEY_COMPLETED"],
"headers": {},
"isActive": false
}`,
    );
    expect(updated.status).toBe(200);
    expect(updated.body.webhooks[0]).toMatchObject({ name: 'Updated CRM Sync', isActive: false, headers: {} });
    expect(
      (
        await curl(
          '-X',
          'POST',
          url('test-send'),
          ...auth,
          ...json,
          '-d',
          `{
"url": "${receiver.url}"
}`,
        )
      ).status,
    ).toBe(200);
    expect((await curl('-X', 'DELETE', url(id), ...auth)).status).toBe(204);
    const list = await curl('-X', 'GET', url(''), ...auth, ...json);
    expect(list.body.webhooks.map((w: { name: string }) => w.name)).toEqual(['Analytics Pipeline']);
  });

  it('Node WebhookManager with axios', async () => {
    const manager = new WebhookManager(token, dept, api.baseUrl);
    expect(await manager.list()).toEqual([]);
    const created = await manager.create({ name: 'My Integration', url: 'https://my-server.com/webhooks', events: ['SURVEY_COMPLETED'], isActive: true });
    const id = created.webhooks[0].id;
    const added = await axios.post(
      `${api.baseUrl}/department/${dept}/webhook/add`,
      { name: 'Analytics Pipeline', url: 'https://analytics.company.com/ingest', events: ['SURVEY_COMPLETED'], isActive: true },
      { headers: { Authorization: `Bearer ${token}` } },
    );
    expect(added.status).toBe(201);
    const updated = await manager.update(id, {
      name: 'Updated CRM Sync',
      url: 'https://your-server.com/webhooks/v2/pollarix',
      events: ['SURVEY_COMPLETED'],
      headers: {},
      isActive: false,
    });
    expect(updated.webhooks[0].isActive).toBe(false);
    await manager.test(receiver.url);
    const response = await axios.post(`${api.baseUrl}/department/${dept}/webhook/test-send`, { url: receiver.url }, { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status === 200).toBe(true);
    await manager.delete(id);
    expect((await manager.list()).map((w: { name: string }) => w.name)).toEqual(['Analytics Pipeline']);
  });

  it('Python WebhookManager with requests', async () => {
    const script = `BASE_URL = ${JSON.stringify(api.baseUrl)}\nTOKEN = ${JSON.stringify(token)}\nDEPT = ${JSON.stringify(dept)}\nRECEIVER = ${JSON.stringify(receiver.url)}\n${PYTHON_MANAGER}`;
    const { stdout } = await run('python3', ['-c', script], { timeout: 30_000 });
    const result = JSON.parse(stdout);
    expect(result.webhooks.map((w: { name: string }) => w.name)).toEqual(['Updated CRM Sync', 'Analytics Pipeline']);
    expect(result.webhooks[0]).toMatchObject({ url: 'https://your-server.com/webhooks/v2/pollarix', isActive: false });
    expect(result.after.map((w: { name: string }) => w.name)).toEqual(['Updated CRM Sync']);
  });
});
