import { isPublishRequest, publishedEvents } from './api-rate-limit.middleware';

describe('the publish limit', () => {
  it.each([
    ['POST', '/internal/events', true],
    ['POST', '/internal/events/batch', true],
    // Express routes ignore case and a trailing slash: so does the limit, or a producer could pick its budget.
    ['POST', '/Internal/Events/', true],
    ['POST', '/internal/events/batch?x=1', true],
    ['GET', '/internal/events', false],
    ['POST', '/internal/events/other', false],
    ['POST', '/department/d/webhook/', false],
  ])('%s %s counts against it: %s', (method, originalUrl, expected) => {
    expect(isPublishRequest({ method, originalUrl })).toBe(expected);
  });

  it('counts a batch by its events and anything else as one', () => {
    expect(publishedEvents({ events: [{}, {}, {}] })).toBe(3);
    expect(publishedEvents({ events: [] })).toBe(1);
    expect(publishedEvents({ type: 'SURVEY_COMPLETED' })).toBe(1);
    expect(publishedEvents({ events: 'many' })).toBe(1);
    expect(publishedEvents(undefined)).toBe(1);
    expect(publishedEvents(null)).toBe(1);
  });
});
