/**
 * `attempt`'s value, tried up to `attempts` times `delayMs` apart: what @nestjs/typeorm's retryAttempts
 * and retryDelay do for dataSource.initialize(). `onRetry` hears each failure that is tried again.
 */
export async function retried<T>(
  attempt: () => Promise<T>,
  { attempts, delayMs, onRetry }: { attempts: number; delayMs: number; onRetry?: (error: unknown, retry: number) => void },
): Promise<T> {
  for (let tried = 1; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      if (tried >= attempts) throw error;
      onRetry?.(error, tried);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
