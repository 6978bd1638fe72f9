/**
 * Keeps secrets out of every output (DESIGN.md §3 "Secrets"). Two layers:
 * `redactUrl` masks the password of a URL or key/value connection string, and
 * `scrubSecrets` replaces every known secret value (raw and percent-encoded) in any text.
 * The CLI passes all its output through `scrubSecrets`, so a secret that slipped
 * into an error message is still masked.
 */

const MASK = "***";

/** Variables whose values are secrets, by name. */
const SECRET_NAME = /(PASS(WORD)?|PWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH)/i;

/** Names that match the pattern but hold no secret (PWD is the working directory). */
const NOT_SECRET = new Set(["PWD", "OLDPWD", "XAUTHORITY", "SSH_AUTH_SOCK", "KRB5CCNAME"]);

/** True when a variable's name says it holds a secret (DB_PASSWORD, API_TOKEN, PGPASSWORD, ...). */
export function isSecretVariableName(name: string): boolean {
  return SECRET_NAME.test(name) && !NOT_SECRET.has(name.toUpperCase());
}

/**
 * Masks the password in a URL (`postgresql://app:***@db:5432/prod`) and any
 * `password=` parameter in its query string or in a key/value connection string.
 */
export function redactUrl(url: string): string {
  let out = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_all, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(":");
    if (colon === -1) return `${scheme}${userinfo}@`;
    return `${scheme}${userinfo.slice(0, colon)}:${MASK}@`;
  });
  out = out.replace(/([?&;\s]|^)(password|pass|pwd|sslpassword)=([^&;\s]*)/gi, (_all, lead: string, key: string) => `${lead}${key}=${MASK}`);
  return out;
}

/** Every form in which a secret could appear in text: raw, percent-encoded, form-encoded. */
function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  forms.add(encodeURIComponent(secret));
  forms.add(encodeURIComponent(secret).replace(/%20/g, "+"));
  forms.add(encodeURI(secret));
  try {
    forms.add(decodeURIComponent(secret));
  } catch {
    // not percent-encoded: nothing to add
  }
  return [...forms].filter((form) => form.length >= MIN_SECRET_LENGTH);
}

/** Shorter values are not scrubbed: masking every "a" would destroy the output and hide nothing. */
export const MIN_SECRET_LENGTH = 4;

/** Replaces every occurrence of every secret (in any encoding) with `***`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  if (secrets.length === 0 || text.length === 0) return text;
  const forms = secrets.flatMap(secretForms).sort((a, b) => b.length - a.length);
  let out = text;
  for (const form of forms) {
    if (out.includes(form)) out = out.split(form).join(MASK);
  }
  return out;
}

/**
 * A process-wide set of known secrets. Config resolution registers the secrets it
 * finds; the CLI's writers scrub with it. Library users may read it for their own logs.
 */
export class SecretRegistry {
  readonly #values = new Set<string>();
  add(...values: readonly (string | undefined | null)[]): void {
    for (const value of values) if (value && value.length >= MIN_SECRET_LENGTH) this.#values.add(value);
  }
  list(): string[] {
    return [...this.#values];
  }
  scrub(text: string): string {
    return scrubSecrets(text, this.list());
  }
}

/** The registry the CLI uses; config resolution adds to it. */
export const knownSecrets = new SecretRegistry();
