/**
 * Node flags every worker process runs with: the image's entry point (deploy/docker-entrypoint.sh,
 * checked against this by a test), `npm start` and the benchmarks. Without a limit V8 sizes the heap
 * for the machine (gigabytes here) and lets it grow lazily under load: a busy worker peaked at ~270 MB
 * RSS, with this limit under 200 MB at the same throughput. The worker's byte budget for request
 * bodies in flight keeps large events within it. An operator's NODE_OPTIONS replaces it in the image.
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-old-space-size=160'];
