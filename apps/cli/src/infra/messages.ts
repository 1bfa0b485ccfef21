/** Shown when a revocation could not be announced. Matches TOKEN_CACHE_TTL_MS of the API. */
export const TOKEN_CACHE_NOTE = 'running API processes stop accepting the token within 10 s';
