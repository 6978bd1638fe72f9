/**
 * The `${VAR}` expander of DESIGN.md §3, a pure function.
 *
 * - `${VAR}` must be set; `${VAR:-default}` falls back; `${VAR:?message}` fails with the message.
 * - `$${` is a literal `${`. A bare `$` stays as it is, so `ab$defgh@jk` survives.
 * - A variable's own value may hold references (from a .env file); they resolve
 *   recursively and a loop is an error.
 * - In a URL template a value is data in the component it lands in, never URL syntax:
 *   in the user-info, the database path, the query string (names and values) and after
 *   `#` it is percent-encoded, so `& ? # / @ % =` cannot start a parameter or move the
 *   host; in the host and port it must be a host, `[IPv6]`, `host:port` or a list of
 *   them, and in the scheme a scheme. `${VAR}` as the whole URL is the URL.
 */
import { ConfigError } from "../errors.js";
import { isSecretVariableName } from "../secrets/redact.js";
import type { ValueSource } from "./types.js";

/** A variable as the expander sees it. `expand: false` marks values taken literally (the process environment). */
export interface VariableValue {
  readonly value: string;
  readonly source: ValueSource;
  readonly expand: boolean;
  /** Why the value cannot be trusted (a malformed `.env` line): using it is an error. */
  readonly problem?: { readonly line: number; readonly message: string } | undefined;
}

export interface ExpandContext {
  lookup(name: string): VariableValue | undefined;
  /** The environment being resolved, for messages. */
  readonly environment: string;
  /** Where the template comes from, e.g. `environments.production.url in athanor.config.ts`. */
  readonly where: string;
}

export interface Expansion {
  readonly value: string;
  readonly sources: readonly ValueSource[];
  /** Names of the variables that were read (defaults included when unset). */
  readonly variables: readonly string[];
  /** Values substituted where a URL holds its password (after `user:`, in `password=`), as given: secrets to mask. */
  readonly passwords: readonly string[];
  /** Names of the variables whose values are in {@link passwords}. */
  readonly passwordVariables: readonly string[];
}

type Token =
  | { kind: "text"; text: string; start: number }
  | { kind: "ref"; name: string; operator: ":-" | ":?" | null; operand: string; start: number; raw: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Splits a template into literal text and `${...}` references (top level only; operands keep nested refs). */
function tokenize(template: string, ctx: ExpandContext): Token[] {
  const tokens: Token[] = [];
  let text = "";
  let textStart = 0;
  let i = 0;
  const pushText = () => {
    if (text.length > 0) tokens.push({ kind: "text", text, start: textStart });
    text = "";
  };
  while (i < template.length) {
    if (template.startsWith("$${", i)) {
      if (text.length === 0) textStart = i;
      text += "${";
      i += 3;
      continue;
    }
    if (template.startsWith("${", i)) {
      pushText();
      let depth = 1;
      let j = i + 2;
      while (j < template.length && depth > 0) {
        if (template.startsWith("${", j)) {
          depth += 1;
          j += 2;
          continue;
        }
        if (template[j] === "}") depth -= 1;
        j += 1;
      }
      if (depth !== 0) {
        throw new ConfigError("malformed-template", `unclosed "\${" at position ${i + 1} of ${ctx.where}`, {
          hint: 'Close it with "}", or write "$${" for a literal "${".',
          details: { environment: ctx.environment },
        });
      }
      const inner = template.slice(i + 2, j - 1);
      const match = /^([^:}]*)(?:(:-|:\?)([\s\S]*))?$/.exec(inner);
      const name = match?.[1] ?? "";
      if (!NAME.test(name)) {
        throw new ConfigError("malformed-template", `"\${${inner}}" in ${ctx.where} is not a valid reference`, {
          hint: "Use ${NAME}, ${NAME:-default} or ${NAME:?message}; names are letters, digits and _.",
          details: { environment: ctx.environment },
        });
      }
      const operator = (match?.[2] as ":-" | ":?" | undefined) ?? null;
      tokens.push({ kind: "ref", name, operator, operand: match?.[3] ?? "", start: i, raw: template.slice(i, j) });
      i = j;
      textStart = i;
      continue;
    }
    if (text.length === 0) textStart = i;
    text += template[i];
    i += 1;
  }
  pushText();
  return tokens;
}

/** Where a reference stands in a URL template; `other` outside one (`${DATABASE_URL}` is the URL). */
type Part = "scheme" | "userinfo" | "host" | "component" | "other";

/**
 * For a URL template (literal `://`), tells which part each reference falls in, from
 * the literal text only: user-info runs from `://` to the last literal `@` of the
 * authority, which ends at the first literal `/`, `?` or `#`; after it come the
 * database path, the query string and what follows `#` (data to libpq).
 */
function classifyUrlParts(tokens: readonly Token[]): Part[] {
  const parts: Part[] = tokens.map(() => "other");
  let schemeEnd = -1;
  for (let t = 0; t < tokens.length && schemeEnd === -1; t++) {
    const token = tokens[t];
    if (token?.kind === "text" && token.text.includes("://")) schemeEnd = t;
  }
  if (schemeEnd === -1) return parts;
  // Find where the authority ends and where its last literal "@" is.
  let authorityEnd = tokens.length;
  let lastAt = -1;
  for (let t = schemeEnd; t < tokens.length; t++) {
    const token = tokens[t];
    if (token?.kind !== "text") continue;
    const body = t === schemeEnd ? token.text.slice(token.text.indexOf("://") + 3) : token.text;
    const end = body.search(/[/?#]/);
    const scan = end === -1 ? body : body.slice(0, end);
    if (scan.includes("@")) lastAt = t;
    if (end !== -1) {
      authorityEnd = t;
      break;
    }
  }
  for (let t = 0; t < tokens.length; t++) {
    if (tokens[t]?.kind !== "ref") continue;
    parts[t] = t < schemeEnd ? "scheme" : t > authorityEnd ? "component" : lastAt !== -1 && t < lastAt ? "userinfo" : "host";
  }
  return parts;
}

/**
 * What a value in the host and port part may be: host names (percent escapes allowed, as
 * for a socket directory), `[IPv6]`, each with an optional `:port`, separated by commas;
 * or a bare IPv6 address written between literal brackets. Nothing that ends the
 * authority, starts a parameter or adds a user-info (`@ / ? # &`, spaces).
 */
const HOST_VALUE = /^(?:(?:\[[0-9A-Za-z:.%]+\]|[A-Za-z0-9._~%-]*)(?::[0-9]*)?(?:,|$))*$|^[0-9A-Fa-f:.]+$/;
/** What a value in the scheme may be (`postgresql`, `+asyncpg`). */
const SCHEME_VALUE = /^[A-Za-z0-9+.-]*$/;

/** True when the text so far ends inside a query parameter whose name says password (libpq's test in url.ts). */
function inQueryPassword(out: string): boolean {
  const question = out.indexOf("?", out.indexOf("://") + 3);
  if (question === -1) return false;
  const query = out.slice(question + 1);
  const pair = query.slice(query.lastIndexOf("&") + 1);
  const eq = pair.indexOf("=");
  return eq !== -1 && /password/i.test(pair.slice(0, eq));
}

/**
 * Expands a template. Throws ConfigError naming the variable, the environment and
 * where the template came from when a variable is unset without a default, when a
 * reference is malformed, or when references loop.
 */
export function expandTemplate(template: string, ctx: ExpandContext): Expansion {
  return expandInner(template, ctx, [], 0, { references: 0, where: ctx.where });
}

/** References may nest this deep (a variable whose value refers to one whose value refers to ...). */
const MAX_DEPTH = 32;
/** One template may expand this many references in all (`A=${B}${B}`, `B=${C}${C}`, ... doubles at each level). */
const MAX_REFERENCES = 10_000;
/** And produce at most this many characters. */
const MAX_LENGTH = 1024 * 1024;

/** What one top-level expansion has used so far. */
interface Budget {
  references: number;
  readonly where: string;
}

function tooLarge(ctx: ExpandContext, budget: Budget, what: string): ConfigError {
  return new ConfigError("expansion-too-large", `${budget.where} ${what} (environment "${ctx.environment}")`, {
    hint: "Variables that refer to each other several times over multiply at every level; give them plain values.",
    details: { environment: ctx.environment },
  });
}

/**
 * `stack`: the variables whose values are being expanded (a reference to one of them is
 * a loop). `depth`: how deeply references and defaults nest.
 */
function expandInner(template: string, ctx: ExpandContext, stack: readonly string[], depth: number, budget: Budget): Expansion {
  if (depth > MAX_DEPTH) {
    throw new ConfigError("variable-nesting", `references nest more than ${MAX_DEPTH} levels deep${stack.length > 0 ? ` (${stack.slice(0, 5).join(" -> ")}${stack.length > 5 ? " -> ..." : ""})` : ""} in ${budget.where} (environment "${ctx.environment}")`, {
      hint: "Give one of these variables a plain value.",
      details: { environment: ctx.environment, variables: stack.slice(0, 50) },
    });
  }
  const tokens = tokenize(template, ctx);
  const parts = template.includes("://") ? classifyUrlParts(tokens) : tokens.map((): Part => "other");
  const sources: ValueSource[] = [];
  const variables: string[] = [];
  const passwords: string[] = [];
  const passwordVariables: string[] = [];
  let out = "";
  tokens.forEach((token, index) => {
    if (token.kind === "text") {
      out += token.text;
      return;
    }
    if (stack.includes(token.name)) {
      throw new ConfigError("variable-loop", `variables refer to each other in a loop: ${[...stack, token.name].join(" -> ")} (environment "${ctx.environment}", ${ctx.where})`, {
        hint: "Break the loop: one of these variables must have a plain value.",
        details: { environment: ctx.environment, variables: [...stack, token.name] },
      });
    }
    budget.references += 1;
    if (budget.references > MAX_REFERENCES) throw tooLarge(ctx, budget, `expands more than ${MAX_REFERENCES} variable references`);
    variables.push(token.name);
    const found = ctx.lookup(token.name);
    let value: string;
    if (found?.problem !== undefined) {
      throw new ConfigError("malformed-env-value", `${describeSource(found.source, token.name)} (line ${found.problem.line}): ${found.problem.message} (environment "${ctx.environment}", used by ${ctx.where})`, {
        hint: "Close the quote, with nothing but a comment after it (python-dotenv and docker compose skip such a line too), or quote the value with the other kind of quote.",
        details: { environment: ctx.environment, variable: token.name, line: found.problem.line },
      });
    }
    if (found !== undefined && !(token.operator !== null && found.value === "")) {
      if (found.expand && found.value.includes("${")) {
        const nested = expandInner(found.value, { ...ctx, where: describeSource(found.source, token.name) }, [...stack, token.name], depth + 1, budget);
        value = nested.value;
        sources.push(found.source, ...nested.sources);
        variables.push(...nested.variables);
        passwords.push(...nested.passwords);
        passwordVariables.push(...nested.passwordVariables);
      } else {
        value = found.value;
        sources.push(found.source);
      }
    } else if (token.operator === ":-") {
      // A default is literal text of the template: it cannot loop back (`${A:-${A:-x}}` is x), only nest.
      const nested = expandInner(token.operand, ctx, stack, depth + 1, budget);
      value = nested.value;
      sources.push({ kind: "default", expression: token.raw }, ...nested.sources);
      variables.push(...nested.variables);
      passwords.push(...nested.passwords);
      passwordVariables.push(...nested.passwordVariables);
    } else {
      const reason = token.operator === ":?" && token.operand.length > 0 ? `: ${token.operand}` : "";
      // A credential never gets a default in the config file: the hint names the places a secret belongs.
      const secret = (parts[index] === "userinfo" && /:[^@/]*$/.test(out)) || isSecretVariableName(token.name);
      throw new ConfigError("unset-variable", `variable ${token.name} is not set${reason} (environment "${ctx.environment}", used by ${ctx.where})`, {
        hint: secret
          ? `Set ${token.name} in the environment (your CI's or deploy tool's secret store) or in the environment's .env file (e.g. .env.${ctx.environment}, mode 0600, not in git); a secret has no default in the config.`
          : `Set ${token.name} in the environment or in one of the environment's .env files, or give a default: \${${token.name}:-value}.`,
        details: { environment: ctx.environment, variable: token.name, where: ctx.where },
      });
    }
    const part = parts[index];
    if ((part === "userinfo" && /:[^@/]*$/.test(out)) || (part === "component" && inQueryPassword(out))) {
      passwords.push(value);
      passwordVariables.push(token.name);
    }
    if (part === "userinfo" || part === "component") {
      value = encodeComponent(value);
    } else if ((part === "host" && !HOST_VALUE.test(value)) || (part === "scheme" && !SCHEME_VALUE.test(value))) {
      // The value is not quoted: it may be a password set in the wrong variable.
      throw new ConfigError("unsafe-url-value", `variable ${token.name} (used in the ${part === "host" ? "host or port" : "scheme"} of ${ctx.where}, environment "${ctx.environment}") is not ${part === "host" ? "a host, [IPv6 address], host:port or a comma-separated list of them" : "a URL scheme"}: it would change what the URL means (where it connects, or with which parameters)`, {
        hint: part === "host"
          ? `Set ${token.name} to a plain host name or port (write an IPv6 address in brackets); a password or a parameter belongs in its own \${VAR} after "user:" or "?name=", where athanor encodes it.`
          : `Set ${token.name} to a scheme such as postgresql, or write the scheme in the config.`,
        details: { environment: ctx.environment, variable: token.name, part },
      });
    }
    out += value;
    if (out.length > MAX_LENGTH) throw tooLarge(ctx, budget, `expands to more than ${MAX_LENGTH / (1024 * 1024)} MB`);
  });
  return { value: out, sources, variables, passwords, passwordVariables };
}

/**
 * Percent-encodes a raw value for a URL component: everything but RFC 3986 unreserved
 * characters, so `@ : / # % $ & ? =` are data, not syntax (libpq decodes every
 * component, the user-info, the database and each query name and value alike).
 */
function encodeComponent(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A short description of a value source, for messages. */
export function describeSource(source: ValueSource, variable?: string): string {
  switch (source.kind) {
    case "config":
      return `${source.path} in ${source.file}`;
    case "env-file":
      return `${source.variable} in ${source.file}`;
    case "process-env":
      return `${source.variable} from the process environment`;
    case "default":
      return `the default in ${source.expression}`;
    case "settings":
      return `${source.exportName} exported by ${source.file}`;
    case "flag":
      return `the ${source.flag} flag`;
    case "built-in":
      return variable ? `the built-in default of ${variable}` : "a built-in default";
  }
}
