/**
 * The API key's text: `lbk_<id>_<secret>`. The id (16 of [0-9a-z]) is public and names the key in
 * lists, logs and rate-limit buckets; the secret (43 base64url characters: 256 random bits) is
 * shown once, at creation, and stored only as its SHA-256. A key is checked by hashing the secret
 * presented and comparing the digests in constant time.
 */
import crypto, { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

export const KEY_PREFIX = 'lbk_';
const ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const ID_LENGTH = 16;
const SECRET_BYTES = 32;
const KEY_PATTERN = /^lbk_([0-9a-z]{16})_([A-Za-z0-9_-]{43})$/;

export interface PresentedKey {
  id: string;
  secret: string;
}

export interface NewKey {
  id: string;
  /** The whole key, for its holder: never stored, never logged. */
  text: string;
  secretSha256: Buffer;
}

export function generateKey(): NewKey {
  let id = '';
  for (let i = 0; i < ID_LENGTH; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { id, text: `${KEY_PREFIX}${id}_${secret}`, secretSha256: secretDigest(secret) };
}

/** The key in a presented text, or null when the text is not shaped like one. */
export function parseKey(text: string): PresentedKey | null {
  const match = KEY_PATTERN.exec(text);
  return match === null ? null : { id: match[1]!, secret: match[2]! };
}

/**
 * Node's one-shot hash (20.12+), where it exists: every authenticated request hashes the secret it
 * presents, and a Hash object per request costs several times the hashing of 43 bytes.
 */
const oneShotHash = (
  crypto as { hash?: (algorithm: string, data: string, out: 'buffer') => Buffer }
).hash;

export function secretDigest(secret: string): Buffer {
  if (oneShotHash !== undefined) return oneShotHash('sha256', secret, 'buffer');
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** Constant-time: how much of a digest matches must not show in how long the check takes. */
export function secretMatches(secret: string, storedSha256: Buffer): boolean {
  const presented = secretDigest(secret);
  return presented.length === storedSha256.length && timingSafeEqual(presented, storedSha256);
}

/** The id of a key text for logs (`lbk_<id>_…`); never the secret. */
export function redactKey(text: string): string {
  const parsed = parseKey(text);
  return parsed === null ? '(malformed key)' : `${KEY_PREFIX}${parsed.id}_…`;
}
