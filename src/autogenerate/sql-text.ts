/**
 * Small, pure helpers over SQL text for the schema model: whitespace normalisation of
 * deparsed definitions, identifier printing, and two deparser quirks the model must iron
 * out: column qualification in views (PostgreSQL ≤ 15 vs 16+) and array casts that print
 * differently once read back. The lexer they stand on is src/sql/lexer.ts.
 */
import { identifierValue, tokenize } from "../sql/lexer.js";
import type { Token } from "../sql/lexer.js";

/** Collapses every run of whitespace (outside strings and quoted names) to one space, trims, drops a trailing `;`. */
export function normalizeWhitespace(sql: string): string {
  let out = "";
  for (const token of tokenize(sql)) out += token.kind === "space" ? " " : token.text;
  out = out.trim();
  if (out.endsWith(";")) out = out.slice(0, -1).trimEnd();
  return out;
}

const clauseEnd = new Set(["WHERE", "GROUP", "HAVING", "WINDOW", "ORDER", "LIMIT", "OFFSET", "FETCH", "FOR", "UNION", "INTERSECT", "EXCEPT"]);
const setOperations = new Set(["UNION", "INTERSECT", "EXCEPT"]);
const subqueryStarts = new Set(["SELECT", "WITH", "VALUES", "TABLE"]);

/**
 * PostgreSQL ≤ 15 kept two hidden range-table entries (OLD, NEW) in every view, so its
 * `pg_get_viewdef` qualifies column references even when the top-level query reads a
 * single relation (`SELECT t.id FROM public.t`); 16+ prints `SELECT id FROM public.t`.
 * This rewrites the first form into the second so both engines compare equal: in the
 * top-level SELECT (outside CTE bodies and parenthesised subqueries, which both versions
 * qualify), when FROM has exactly one item, `ref.column` becomes `column`.
 * `definition` must be whitespace-normalised deparser output.
 */
export function unqualifySingleRelationView(definition: string): string {
  const tokens = tokenize(definition).filter((t) => t.kind !== "comment");
  // Depth of each token relative to the main query; subquery parentheses are marked so their content is skipped.
  const inSubquery: boolean[] = new Array<boolean>(tokens.length).fill(false);
  const depthAt: number[] = new Array<number>(tokens.length).fill(0);
  const stack: boolean[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as Token;
    const enclosedInSubquery = stack.includes(true);
    if (token.kind === "punct" && token.text === "(") {
      const following = nextSignificant(tokens, i + 1);
      const isSubquery = following !== null && following.kind === "word" && subqueryStarts.has(following.text.toUpperCase());
      inSubquery[i] = enclosedInSubquery;
      depthAt[i] = stack.length;
      stack.push(isSubquery);
      continue;
    }
    if (token.kind === "punct" && token.text === ")") {
      stack.pop();
      inSubquery[i] = stack.includes(true);
      depthAt[i] = stack.length;
      continue;
    }
    inSubquery[i] = enclosedInSubquery;
    depthAt[i] = stack.length;
  }
  const topLevel = (i: number): boolean => depthAt[i] === 0 && !inSubquery[i];
  const isWord = (i: number, word: string): boolean => {
    const token = tokens[i];
    return token !== undefined && token.kind === "word" && token.text.toUpperCase() === word;
  };
  // The main SELECT: the first top-level SELECT keyword (a WITH clause's bodies are parenthesised).
  let select = -1;
  for (let i = 0; i < tokens.length; i++) {
    if (topLevel(i) && isWord(i, "SELECT")) {
      select = i;
      break;
    }
  }
  if (select < 0) return definition;
  let from = -1;
  let fromEnd = tokens.length;
  for (let i = select + 1; i < tokens.length; i++) {
    if (!topLevel(i)) continue;
    const token = tokens[i] as Token;
    if (token.kind !== "word") continue;
    const word = token.text.toUpperCase();
    if (setOperations.has(word)) return definition;
    if (from < 0 && word === "FROM") from = i;
    else if (from >= 0 && fromEnd === tokens.length && clauseEnd.has(word)) fromEnd = i;
  }
  if (from < 0) return definition;
  const reference = singleFromItemReference(tokens, from + 1, fromEnd, topLevel);
  if (reference === null) return definition;
  let out = "";
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as Token;
    const outsideFrom = i < from || i >= fromEnd;
    if (outsideFrom && i > select && !inSubquery[i] && identifierValue(token) === reference) {
      const dot = tokens[i + 1];
      const column = tokens[i + 2];
      const before = previousSignificant(tokens, i - 1);
      const qualifiesColumn =
        dot !== undefined && dot.kind === "punct" && dot.text === "." && column !== undefined && (column.kind === "word" || column.kind === "quoted-ident");
      const partOfLongerName = before !== null && before.kind === "punct" && (before.text === "." || before.text === "::");
      if (qualifiesColumn && !partOfLongerName) {
        i += 1; // skip the reference and its dot
        continue;
      }
    }
    out += token.text;
  }
  return out;
}

/** The reference name of a FROM clause holding exactly one item, else null. */
function singleFromItemReference(tokens: readonly Token[], start: number, end: number, topLevel: (i: number) => boolean): string | null {
  const items: number[] = [];
  for (let i = start; i < end; i++) {
    if (!topLevel(i)) continue;
    const token = tokens[i] as Token;
    if (token.kind === "space") continue;
    if (token.kind === "punct" && token.text === ",") return null;
    if (token.kind === "word" && ["JOIN", "CROSS", "NATURAL", "LATERAL", "TABLESAMPLE"].includes(token.text.toUpperCase())) return null;
    items.push(i);
  }
  // items: top-level significant tokens. Shapes: name[.name...] [alias]; name(...) [alias[(cols)]]; (subquery) alias[(cols)]
  let k = 0;
  const at = (index: number): Token | undefined => (index < items.length ? tokens[items[index] as number] : undefined);
  if (at(k)?.kind === "word" && at(k)?.text.toUpperCase() === "ONLY") k++;
  let lastName: string | null = null;
  const first = at(k);
  if (first === undefined) return null;
  if (first.kind === "punct" && first.text === "(") {
    k = skipParens(items, tokens, k);
  } else {
    lastName = identifierValue(first);
    if (lastName === null) return null;
    k++;
    while (at(k)?.kind === "punct" && at(k)?.text === "." && at(k + 1) !== undefined) {
      lastName = identifierValue(at(k + 1) as Token);
      if (lastName === null) return null;
      k += 2;
    }
    if (at(k)?.kind === "punct" && at(k)?.text === "(") k = skipParens(items, tokens, k);
  }
  if (at(k)?.kind === "word" && at(k)?.text.toUpperCase() === "AS") k++;
  const aliasToken = at(k);
  if (aliasToken === undefined) return lastName;
  const alias = identifierValue(aliasToken);
  if (alias === null) return null;
  k++;
  if (at(k)?.kind === "punct" && at(k)?.text === "(") k = skipParens(items, tokens, k);
  return k >= items.length ? alias : null;
}

/** Index (into `items`) just past the parenthesised group that opens at items[k]. */
function skipParens(items: readonly number[], tokens: readonly Token[], k: number): number {
  // items only holds top-level tokens; a group's "(" and ")" are both at depth 0, its content deeper.
  const open = items[k] as number;
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const token = tokens[i] as Token;
    if (token.kind === "punct" && token.text === "(") depth++;
    else if (token.kind === "punct" && token.text === ")") {
      depth--;
      if (depth === 0) {
        const position = items.indexOf(i);
        return position < 0 ? items.length : position + 1;
      }
    }
  }
  return items.length;
}

function nextSignificant(tokens: readonly Token[], from: number): Token | null {
  for (let i = from; i < tokens.length; i++) {
    const token = tokens[i] as Token;
    if (token.kind !== "space" && token.kind !== "comment") return token;
  }
  return null;
}

function previousSignificant(tokens: readonly Token[], from: number): Token | null {
  for (let i = from; i >= 0; i--) {
    const token = tokens[i] as Token;
    if (token.kind !== "space" && token.kind !== "comment") return token;
  }
  return null;
}

/**
 * An identifier as the server's quote_ident prints it: bare when it is lower-case,
 * simple and not a reserved word, else double-quoted. (The keyword list covers the
 * reserved words; a rarer non-reserved keyword is printed bare, which PostgreSQL accepts.)
 */
export function printIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !reservedWords.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

const reservedWords = new Set(
  (
    "all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation column concurrently " +
    "constraint create cross current_catalog current_date current_role current_schema current_time current_timestamp current_user default " +
    "deferrable desc distinct do else end except false fetch for foreign freeze from full grant group having ilike in initially inner " +
    "intersect into is isnull join lateral leading left like limit localtime localtimestamp natural not notnull null offset on only or " +
    "order outer overlaps placing primary references returning right select session_user similar some symmetric system_user table " +
    "tablesample then to trailing true union unique user using variadic verbose when where window with"
  ).split(" "),
);

/**
 * PostgreSQL prints `x IN ('a', 'b')` on a varchar column as
 * `x::text = ANY (ARRAY['a'::character varying, 'b'::character varying]::text[])`, but
 * reading that text back gives a different tree, printed
 * `ARRAY['a'::character varying::text, 'b'::character varying::text]` (and in the
 * non-pretty form of index definitions, `(ARRAY[...])::text[]` becomes
 * `ARRAY[('a'::character varying)::text, ...]`). Without this, a check constraint applied
 * from a generated revision would never compare equal to its declaration. This rewrites
 * the first form into the second (a fixed point of print → parse → print); only arrays
 * whose every element is a literal with a cast are touched.
 */
export function normalizeArrayCasts(text: string): string {
  const tokens = tokenize(text);
  if (!tokens.some((t) => t.kind === "word" && t.text.toUpperCase() === "ARRAY")) return text;
  let out = "";
  for (let i = 0; i < tokens.length; i++) {
    const match = matchArrayCast(tokens, i);
    if (match === null) {
      out += (tokens[i] as Token).text;
      continue;
    }
    const elements = match.elements.map((element) => (match.parenthesised ? `(${element})::${match.type}` : `${element}::${match.type}`));
    out += `ARRAY[${elements.join(", ")}]`;
    i = match.end - 1;
  }
  return out;
}

interface ArrayCastMatch {
  /** Whether the form was `(ARRAY[...])::type[]` (non-pretty printing). */
  parenthesised: boolean;
  elements: string[];
  /** The element type the array is cast to, e.g. `text`. */
  type: string;
  /** Index just past the match. */
  end: number;
}

function matchArrayCast(tokens: readonly Token[], start: number): ArrayCastMatch | null {
  let i = start;
  const at = (index: number): Token | undefined => tokens[index];
  const isPunct = (index: number, text: string): boolean => at(index)?.kind === "punct" && at(index)?.text === text;
  const skipSpace = (index: number): number => {
    let j = index;
    while (at(j)?.kind === "space") j++;
    return j;
  };
  const parenthesised = isPunct(i, "(");
  if (parenthesised) i = skipSpace(i + 1);
  const word = at(i);
  if (!(word?.kind === "word" && word.text.toUpperCase() === "ARRAY")) return null;
  i = skipSpace(i + 1);
  if (!isPunct(i, "[")) return null;
  i++;
  // Elements: literal :: type, separated by commas.
  const elements: string[] = [];
  let current = "";
  let depth = 0;
  for (;;) {
    if (i >= tokens.length) return null;
    if (depth === 0 && isPunct(i, "]")) {
      elements.push(current.trim());
      i++;
      break;
    }
    if (depth === 0 && isPunct(i, ",")) {
      elements.push(current.trim());
      current = "";
      i++;
      continue;
    }
    const token = at(i) as Token;
    if (token.kind === "punct" && !["::", ".", "(", ")", "-", ","].includes(token.text)) return null;
    if (token.kind === "punct" && token.text === "(") depth++;
    if (token.kind === "punct" && token.text === ")") depth--;
    current += token.text;
    i++;
  }
  if (!elements.every(isCastLiteral)) return null;
  if (parenthesised) {
    i = skipSpace(i);
    if (!isPunct(i, ")")) return null;
    i++;
  }
  if (!isPunct(i, "::")) return null;
  i++;
  let type = "";
  while (i < tokens.length && !isPunct(i, "[")) {
    const token = at(i) as Token;
    const allowed = token.kind === "word" || token.kind === "quoted-ident" || token.kind === "space" || token.kind === "number" || (token.kind === "punct" && [".", "(", ")", ","].includes(token.text));
    if (!allowed) return null;
    type += token.text;
    i++;
  }
  if (!isPunct(i, "[") || !isPunct(i + 1, "]") || type.trim() === "") return null;
  return { parenthesised, elements, type: type.trim(), end: i + 2 };
}

/** `'a'::character varying`, `1::numeric`, `'x'::public.mood`: a literal with one cast. */
function isCastLiteral(element: string): boolean {
  const tokens = tokenize(element).filter((t) => t.kind !== "space");
  let k = 0;
  if (tokens[k]?.kind === "punct" && tokens[k]?.text === "-") k++;
  if (!(tokens[k]?.kind === "string" || tokens[k]?.kind === "number")) return false;
  k++;
  if (!(tokens[k]?.kind === "punct" && tokens[k]?.text === "::")) return false;
  k++;
  const rest = tokens.slice(k);
  return rest.length > 0 && rest.every((t) => t.kind === "word" || t.kind === "quoted-ident" || t.kind === "number" || (t.kind === "punct" && [".", "(", ")", ","].includes(t.text)));
}
