import type { Queue } from 'bullmq';
import { JobPresence, jobPresence } from './sweep-plan';

/**
 * What Redis holds under these job ids (see jobPresence), in one pipelined round trip: HMGET <job key>
 * timestamp finishedOn for each. The job keys are `${prefix}:${queue}:${id}` (Queue.toKey); the prefix
 * '{pollarix}' is a Redis Cluster hash tag, so they all share one slot and a pipeline goes to one node.
 */
export async function readJobPresence(queue: Queue, jobIds: string[], finishedBefore: number): Promise<JobPresence[]> {
  if (jobIds.length === 0) return [];
  const client = await queue.backend.client;
  const pipeline = client.pipeline();
  for (const id of jobIds) pipeline.runCommand('hmget', [queue.toKey(id), 'timestamp', 'finishedOn']);
  const replies = (await pipeline.exec()) ?? [];
  return jobIds.map((_, i) => jobPresence(replies[i] as [Error | null, unknown] | undefined, finishedBefore));
}
