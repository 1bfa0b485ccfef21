import { version } from '../../../package.json';

/** The service version, as released in package.json. */
export const SERVICE_VERSION: string = version;
export const USER_AGENT = `Pollarix-Webhooks/${SERVICE_VERSION}`;
