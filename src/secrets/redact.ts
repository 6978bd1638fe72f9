/**
 * Keeps secrets out of every output (DESIGN.md §3 "Secrets"). Two layers:
 * `redactUrl` masks the password of every URL or key/value connection string in a text,
 * and `scrubSecrets` replaces every known secret value (raw and percent-encoded) in any
 * text. The CLI passes all its output through `scrubSecrets`, so a secret that slipped
 * into an error message is still masked. `passwordCandidates` finds what to register
 * before anything is parsed, so a URL that fails to parse is masked too.
 */

const MASK = "***";

/**
 * Variables whose values are secrets, by name: PASSWORD, PASSWD, SECRET, TOKEN,
 * CREDENTIAL(S) anywhere in the name (PGPASSWORD, DB_PASSWORD, STRIPE_SECRET_KEY);
 * PASS, PWD, KEY, AUTH, APIKEY as a whole `_`-separated word (DB_PASS, API_KEY).
 */
const SECRET_PARTS = ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATEKEY", "PRIVATE_KEY", "APIKEY", "API_KEY"];
const SECRET_WORDS = new Set(["PASS", "PWD", "KEY", "AUTH"]);

/** Names that match the rule but hold no secret (PWD is the working directory). */
const NOT_SECRET = new Set(["PWD", "OLDPWD", "XAUTHORITY", "SSH_AUTH_SOCK", "KRB5CCNAME"]);

/**
 * True when a variable's name says it holds a secret (DB_PASSWORD, API_TOKEN, PGPASSWORD,
 * DB_PASS, ...), in any case. Every command asks it of every variable at start-up: written
 * with `includes` and `split`, not as one case-insensitive regular expression, whose
 * compilation alone took ~0.4 ms of each run.
 */
export function isSecretVariableName(name: string): boolean {
  const upper = name.toUpperCase();
  if (NOT_SECRET.has(upper)) return false;
  for (const part of SECRET_PARTS) if (upper.includes(part)) return true;
  for (const word of upper.split("_")) if (SECRET_WORDS.has(word)) return true;
  return false;
}

/** A URL-shaped token: a scheme, `://`, and everything up to whitespace or a quote. */
const URL_TOKEN = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'<>`]*)/gi;

/**
 * A URL-shaped token inside an SQL literal: a doubled quote (`''`) or a backslash-escaped
 * one (`\'`, E-strings) is a quote of the URL, not the literal's end, so a password that
 * holds one is masked whole.
 */
const SQL_URL_TOKEN = /\b([a-z][a-z0-9+.-]*:\/\/)((?:[^\s"'<>`\\]|''|\\.)*)/gi;

/** Every URL token `pattern` finds in `text`, with the password of its user-info masked. */
function redactUrlTokens(text: string, pattern: RegExp): string {
  return text.replace(pattern, (_all, scheme: string, rest: string) => `${scheme}${redactUserInfo(rest)}`);
}

/**
 * The passwords of the URLs in SQL text masked (`dblink_connect('postgresql://u:***@h/db')`,
 * `CREATE SUBSCRIPTION ... CONNECTION 'postgresql://...'`): {@link redactUrl}'s user-info
 * rule, with the literal's quoting read as part of the URL. A URL cut short at the end of
 * the text (`pg_stat_activity.query` keeps the first 1 kB of a statement) may end inside its
 * password: from its first `:` on it is masked.
 */
export function redactSqlUrls(text: string): string {
  return text.replace(SQL_URL_TOKEN, (all: string, scheme: string, rest: string, offset: number) => {
    const colon = separatorOutsideReferences(rest);
    const cut = offset + all.length === text.length && !rest.includes("@") && colon !== -1;
    return `${scheme}${cut ? `${rest.slice(0, colon + 1)}${MASK}` : redactUserInfo(rest)}`;
  });
}

/**
 * Masks the password of every URL in `text` (`postgresql://app:***@db:5432/prod`) and
 * every `password=` parameter of a query string or key/value connection string.
 * The user-info is taken up to the *last* `@` of the URL, so a raw `@` in a password (or
 * a URL libpq would split elsewhere) never shows any part of it. In a template
 * (`postgresql://${DB_USER}:${DB_PASSWORD}@${DB_HOST}/db`), references are names, not
 * secrets: a password made only of references is shown as written.
 */
export function redactUrl(text: string): string {
  const out = redactUrlTokens(text, URL_TOKEN);
  return out.replace(PASSWORD_PARAMETER, (_all, lead: string, key: string, value: string, offset: number) => `${lead}${key}=${MASK}${closingQuote(value, out, offset)}`);
}

/**
 * The name of a parameter whose value may be a password: `password`, `sslpassword`, and
 * what a hand may type for them (`pass`, `pwd`, `passwd`, `pasword`, `passwrd`,
 * `db_password`, `secret`, `token`...): a mistyped name is refused as "not a libpq
 * parameter", and that error must not quote the value (adv15 F18). `passfile` names a file.
 */
const PASSWORD_KEY = String.raw`(?!passfile=)[a-z_]*(?:pas+w|pass|pwd|pw|secret|token)[a-z_]*`;

/**
 * A password-like parameter and its value: a libpq single-quoted value (`password='a b'`,
 * `\'` escaping a quote; unterminated, to the end), or everything up to a separator.
 */
const PASSWORD_PARAMETER = new RegExp(String.raw`([?&;\s]|^)(${PASSWORD_KEY})=('(?:[^'\\]|\\.)*'?|[^&;\s]*)`, "gi");

/** A password-like parameter's unquoted value, for {@link passwordCandidates}. */
const PASSWORD_PARAMETER_VALUE = new RegExp(String.raw`(?:^|[?&;\s])${PASSWORD_KEY}=([^&;\s]*)`, "gi");

/**
 * The end of a server message's double-quoted span that an unquoted value ran into
 * (`could not parse network address "1 password=x"`, `"h password=x".`): kept, so the
 * message keeps its quote. Only inside such a span (an odd number of `"` before the
 * parameter), and only a `"` that ends the value or precedes punctuation: a `"` inside a
 * password (`ab"cd`) is the password's and masked with it.
 */
function closingQuote(value: string, text: string, offset: number): string {
  if (value.startsWith("'") || (text.slice(0, offset).split('"').length - 1) % 2 === 0) return "";
  for (let i = value.indexOf('"'); i !== -1; i = value.indexOf('"', i + 1)) {
    if (i === value.length - 1 || /[.,:;)\]]/.test(value[i + 1] as string)) return value.slice(i);
  }
  return "";
}

function redactUserInfo(rest: string): string {
  const at = rest.lastIndexOf("@");
  if (at === -1) return rest;
  const userinfo = rest.slice(0, at);
  const colon = separatorOutsideReferences(userinfo);
  if (colon === -1) return rest;
  const password = userinfo.slice(colon + 1);
  if (password === "") return rest;
  // Only references: show their names, but not a literal default (`${DB_PASSWORD:-devpass}`).
  const shown = /^(?:\$\{[^{}]*\})+$/.test(password) ? password.replace(/\$\{([A-Za-z0-9_]*)(:[-?])[^{}]*\}/g, (_ref, name: string, op: string) => `\${${name}${op}${MASK}}`) : MASK;
  return `${userinfo.slice(0, colon)}:${shown}${rest.slice(at)}`;
}

/** Index of the first `:` that is not inside a `${...}` reference (`${DB_USER:-app}` holds one). */
function separatorOutsideReferences(text: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith("${", i)) {
      depth += 1;
      i += 1;
    } else if (text[i] === "}" && depth > 0) depth -= 1;
    else if (text[i] === ":" && depth === 0) return i;
  }
  return -1;
}

/** At most this many candidates per URL: every `@` after the user name gives one. */
const MAX_CANDIDATES_PER_URL = 16;

/**
 * Every value in `text` that may be a password, found without parsing it as a URL: for
 * each URL, the text between `user:` and each `@` that follows (libpq stops at the first,
 * WHATWG URL at the last: the author may have meant either), and every `password=` value.
 * Meant to be registered before the URL is parsed, so a URL that fails to parse is never
 * echoed with its password.
 */
export function passwordCandidates(text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(/[a-z][a-z0-9+.-]*:\/\/(\S*)/gi)) {
    const rest = match[1] ?? "";
    const colon = separatorOutsideReferences(rest);
    if (colon === -1) continue;
    let count = 0;
    for (let at = rest.indexOf("@", colon + 1); at !== -1 && count < MAX_CANDIDATES_PER_URL; at = rest.indexOf("@", at + 1)) {
      const candidate = rest.slice(colon + 1, at);
      // `${DB_PASSWORD}` in a template is a name, not a secret (its value is registered on its own).
      if (!/^(?:\$\{[^{}]*\})+$/.test(candidate)) found.add(candidate);
      count += 1;
    }
  }
  for (const match of text.matchAll(PASSWORD_PARAMETER_VALUE)) found.add(match[1] ?? "");
  return [...found].filter((value) => value.length > 0);
}

/** Every form in which a secret could appear in text: raw, percent-encoded, form-encoded. */
function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  forms.add(encodeURIComponent(secret));
  forms.add(encodeURIComponent(secret).replace(/%20/g, "+"));
  forms.add(encodeURI(secret));
  // Percent-encoding is case-insensitive (`%2f` is `%2F`): a hand-written or lower-casing encoder's form too.
  forms.add(encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()));
  try {
    forms.add(decodeURIComponent(secret));
  } catch {
    // not percent-encoded: nothing to add
  }
  return [...forms].filter((form) => form.length >= MIN_SECRET_LENGTH);
}

/** Shorter values are not scrubbed: masking every "a" would destroy the output and hide nothing. */
export const MIN_SECRET_LENGTH = 4;

const WORD = /[A-Za-z0-9_]/;

/**
 * True when a secret may be a part of ordinary words: letters only or digits only
 * (`postgres`, `admin`, `123456`). Only such a secret is masked as a whole token; any other
 * (`Zq7-adv15-pw`, `s3cret!`) is masked wherever it occurs, glued to other characters too
 * (`pw_<secret>`, `token=abc<secret>`): adv15 F17 read a password masked only when it
 * stood alone.
 */
function isWordLike(form: string): boolean {
  return /^(?:[A-Za-z]+|[0-9]+)$/.test(form);
}

/**
 * True when the occurrence of `form` at `index` is a whole token: a secret that starts (or
 * ends) with a letter or digit must not continue a longer word there, so the password
 * `postgres` is masked in `user=postgres` but `postgresql://` stays readable.
 */
function isWholeToken(text: string, index: number, form: string): boolean {
  const before = text[index - 1];
  const after = text[index + form.length];
  if (before !== undefined && WORD.test(form[0] as string) && WORD.test(before)) return false;
  if (after !== undefined && WORD.test(form[form.length - 1] as string) && WORD.test(after)) return false;
  return true;
}

/**
 * Replaces every occurrence of every secret (in any encoding) with `***`: anywhere for a
 * secret that is not word-like, as a whole token for one that is ({@link isWordLike}).
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  if (secrets.length === 0 || text.length === 0) return text;
  const forms = [...new Set(secrets.flatMap(secretForms))].sort((a, b) => b.length - a.length);
  let out = text;
  for (const form of forms) {
    if (!out.includes(form)) continue;
    const anywhere = !isWordLike(form);
    let result = "";
    let from = 0;
    for (let index = out.indexOf(form); index !== -1; index = out.indexOf(form, index + 1)) {
      if (index < from || (!anywhere && !isWholeToken(out, index, form))) continue;
      result += `${out.slice(from, index)}${MASK}`;
      from = index + form.length;
    }
    out = result + out.slice(from);
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

/**
 * Registers the secrets a set of variables holds: the values of secret-named ones
 * ({@link isSecretVariableName}, PGPASSWORD included) and the passwords in URL-shaped or
 * key=value ones. The CLI calls it with the process environment before it loads the
 * config module, whose errors (a config that validates its environment and quotes a
 * value) are otherwise printed before config resolution registers anything (adv15 F9).
 */
export function registerVariableSecrets(variables: Readonly<Record<string, string | undefined>>, registry: SecretRegistry = knownSecrets): void {
  for (const [name, value] of Object.entries(variables)) if (value !== undefined) registry.add(...variableSecrets(name, value));
}

/** The secrets one variable holds: its value when its name says secret, and the passwords in a URL-shaped or key=value value. */
export function variableSecrets(name: string, value: string): string[] {
  const candidates = value.includes("://") || value.includes("=") ? passwordCandidates(value) : [];
  return isSecretVariableName(name) ? [value, ...candidates] : candidates;
}
