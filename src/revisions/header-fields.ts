/**
 * What both header formats share: the fields as read (each with its line), the checks
 * that turn them into a {@link RevisionHeader}, and the error that names file and line.
 * Pure.
 */
import { escapeControlCharacters, hasControlCharacter } from "../control-characters.js";
import { RevisionError } from "../errors.js";
import { branchLabelProblem, isRevisionId, isRuleName } from "./ids.js";
import type { RevisionHeader } from "./types.js";

/** Text with CRLF and CR line endings turned into LF, as checksums and line numbers use. */
export function normalizeLineEndings(text: string): string {
  return text.includes("\r") ? text.replace(/\r\n?/g, "\n") : text;
}

/** A header value and the line it stands on. */
export interface Field<T> {
  readonly value: T;
  readonly line: number;
}

/** What a file said, before validation. Each field remembers its line. */
export interface RawHeader {
  revision?: Field<string>;
  /** `null` value: an explicit root (`down: null`). */
  down?: Field<readonly string[] | null>;
  message?: Field<string>;
  transaction?: Field<boolean>;
  branchLabels?: Field<readonly string[]>;
  dependsOn?: Field<readonly string[]>;
  allow?: Field<readonly string[]>;
}

/** How a format spells each field, for messages. */
export type Spelling = Record<keyof RawHeader, string>;

export const SQL_SPELLING: Spelling = {
  revision: "-- athanor:revision",
  down: "-- athanor:down",
  message: "-- athanor:message",
  transaction: "-- athanor:transaction",
  branchLabels: "-- athanor:branch-labels",
  dependsOn: "-- athanor:depends-on",
  allow: "-- athanor:allow",
};

export const TS_COMMENT_SPELLING: Spelling = {
  revision: "// athanor:revision",
  down: "// athanor:down",
  message: "// athanor:message",
  transaction: "// athanor:transaction",
  branchLabels: "// athanor:branch-labels",
  dependsOn: "// athanor:depends-on",
  allow: "// athanor:allow",
};

export const TS_SPELLING: Spelling = {
  revision: "revision",
  down: "down",
  message: "message",
  transaction: "transaction",
  branchLabels: "branchLabels",
  dependsOn: "dependsOn",
  allow: "allow",
};

/** A `malformed-header` error: `file:line: message`, with the fix as hint. */
export function headerError(file: string, line: number | null, message: string, hint: string): RevisionError {
  const where = line === null ? file : `${file}:${line}`;
  return new RevisionError("malformed-header", `${where}: ${abbreviateQuoted(message)}`, { hint, details: { file, line } });
}

/** A value quoted in a message (`...`) is cut to 60 characters: a hostile file must not put megabytes on a terminal. */
function abbreviateQuoted(message: string): string {
  return message.replace(/`([^`\n]{61,})`/g, (_all, inner: string) => `\`${inner.slice(0, 57)}...\``);
}

const ID_HINT = "a revision id is 12 lowercase hex characters, such as 3f2a9c1d0b7e";

/** Checks what a file said and turns it into a header; throws naming the file and line. */
export function validateHeader(raw: RawHeader, file: string, spelling: Spelling): RevisionHeader {
  const revision = raw.revision;
  if (revision === undefined) {
    const hint =
      spelling === TS_SPELLING
        ? 'add `revision: "<id>"` to the object given to defineMigration (`athanor revision --ts -m MSG` writes a complete file)'
        : `add a line \`${spelling.revision} <id>\` at the top of the file (\`athanor revision -m MSG\` writes a complete file)`;
    throw headerError(file, null, "the revision has no id", hint);
  }
  if (!isRevisionId(revision.value)) {
    throw headerError(file, revision.line, `\`${revision.value}\` is not a revision id`, ID_HINT);
  }
  const id = revision.value;

  const parents: string[] = [];
  if (raw.down !== undefined && raw.down.value !== null) {
    const { line } = raw.down;
    for (const parent of raw.down.value) {
      if (!isRevisionId(parent)) {
        throw headerError(file, line, `\`${parent}\` in ${spelling.down} is not a revision id`, `${ID_HINT}; separate several parents with commas`);
      }
      if (parent === id) {
        throw headerError(file, line, `revision ${id} names itself as its parent`, "set the parent to the revision this one follows, or remove it for a root revision");
      }
      if (parents.includes(parent)) {
        throw headerError(file, line, `parent ${parent} is listed twice in ${spelling.down}`, "list each parent once");
      }
      parents.push(parent);
    }
  }

  const dependsOn: string[] = [];
  if (raw.dependsOn !== undefined) {
    const { line } = raw.dependsOn;
    for (const dependency of raw.dependsOn.value) {
      if (!isRevisionId(dependency) && branchLabelProblem(dependency) !== null) {
        throw headerError(file, line, `\`${dependency}\` in ${spelling.dependsOn} is neither a revision id nor a branch label`, `${ID_HINT}; separate several with commas`);
      }
      if (dependency === id) {
        throw headerError(file, line, `revision ${id} depends on itself`, `remove ${id} from ${spelling.dependsOn}`);
      }
      if (dependsOn.includes(dependency)) {
        throw headerError(file, line, `\`${dependency}\` is listed twice in ${spelling.dependsOn}`, "list each dependency once");
      }
      dependsOn.push(dependency);
    }
  }

  const branchLabels: string[] = [];
  if (raw.branchLabels !== undefined) {
    const { line } = raw.branchLabels;
    for (const label of raw.branchLabels.value) {
      const problem = branchLabelProblem(label);
      if (problem !== null) throw headerError(file, line, `\`${label}\` is not a valid branch label`, problem);
      if (branchLabels.includes(label)) {
        throw headerError(file, line, `branch label \`${label}\` is listed twice`, "list each label once");
      }
      branchLabels.push(label);
    }
  }

  const allow: string[] = [];
  if (raw.allow !== undefined) {
    for (const rule of raw.allow.value) {
      if (!isRuleName(rule)) {
        throw headerError(file, raw.allow.line, `\`${rule}\` in ${spelling.allow} is not a rule name`, "name linter rules as `athanor lint` prints them, separated by commas");
      }
      if (!allow.includes(rule)) allow.push(rule);
    }
  }

  // A message is printed by every command; a control character in it could drive the terminal or CI log that
  // shows it, a bidirectional or invisible one make it read differently from what it holds.
  if (raw.message !== undefined && hasControlCharacter(raw.message.value)) {
    throw headerError(
      file,
      raw.message.line,
      `${spelling.message} holds a control character (\`${escapeControlCharacters(raw.message.value)}\`)`,
      "a message is one line of plain text: remove the control characters (escape sequences, newlines, bidirectional and invisible characters); tabs are allowed",
    );
  }

  return {
    id,
    parents,
    message: raw.message?.value ?? "",
    branchLabels,
    dependsOn,
    transactional: raw.transaction?.value ?? true,
    allow,
  };
}
