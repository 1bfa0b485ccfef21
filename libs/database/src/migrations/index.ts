import { InitialSchema1764180000000 } from './1764180000000-InitialSchema';

/** Every migration in order; `npm run migration:generate -- <Name>` appends new ones here. */
export const MIGRATIONS = [InitialSchema1764180000000];
