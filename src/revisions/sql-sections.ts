/**
 * Splits an SQL revision into its `-- athanor:upgrade` and `-- athanor:downgrade`
 * sections. Each section keeps the 1-based line where its SQL starts in the file, so the
 * engine and the linter can point a failing statement at a file line. Pure.
 */
import { RevisionError } from "../errors.js";
import { normalizeLineEndings, readSqlDirective } from "./header.js";

/** The SQL of one section and where it starts. */
export interface SqlSection {
  /** The lines between the marker and the next marker (or the end of the file), LF line endings. */
  readonly sql: string;
  /** 1-based line number, in the file, of the first line of `sql` (the line after the marker). */
  readonly line: number;
}

/** Both sections of an SQL revision. */
export interface SqlSections {
  readonly upgrade: SqlSection;
  /** Null when the file has no `-- athanor:downgrade` marker: the revision cannot be reverted. */
  readonly downgrade: SqlSection | null;
}

interface Marker {
  readonly line: number;
  /** Offset of the marker line's first character. */
  readonly start: number;
  /** Offset just after the marker line (its newline included). */
  readonly end: number;
}

function sectionError(file: string, line: number | null, message: string, hint: string): RevisionError {
  const where = line === null ? file : `${file}:${line}`;
  return new RevisionError("malformed-header", `${where}: ${message}`, { hint, details: { file, line } });
}

/**
 * Splits the text of an SQL revision into its sections.
 * @param file the file's name as the user should see it in a message
 * @example
 * splitSqlSections("-- athanor:revision 3f2a9c1d0b7e\n-- athanor:upgrade\nSELECT 1;\n", "a.sql").upgrade
 * // { sql: "SELECT 1;\n", line: 3 }
 */
export function splitSqlSections(input: string, file: string): SqlSections {
  const text = normalizeLineEndings(input.charCodeAt(0) === 0xfeff ? input.slice(1) : input);
  const markers = new Map<string, Marker>();
  let lineNumber = 0;
  let start = 0;
  while (start < text.length) {
    lineNumber += 1;
    const newline = text.indexOf("\n", start);
    const end = newline === -1 ? text.length : newline + 1;
    const lineText = text.slice(start, newline === -1 ? text.length : newline);
    const directive = readSqlDirective(lineText, lineNumber, file);
    if (directive !== null && (directive.name === "upgrade" || directive.name === "downgrade")) {
      const previous = markers.get(directive.name);
      if (previous !== undefined) {
        throw sectionError(file, lineNumber, `a second \`-- athanor:${directive.name}\` marker (the first is on line ${previous.line})`, "keep one upgrade section and at most one downgrade section");
      }
      markers.set(directive.name, { line: lineNumber, start, end });
    }
    start = end;
  }
  const upgrade = markers.get("upgrade");
  if (upgrade === undefined) {
    throw sectionError(file, null, "the revision has no `-- athanor:upgrade` section", "add a line `-- athanor:upgrade` followed by the SQL to apply");
  }
  const downgrade = markers.get("downgrade");
  const section = (marker: Marker, other: Marker | undefined): SqlSection => {
    const stop = other !== undefined && other.start >= marker.end ? other.start : text.length;
    return { sql: text.slice(marker.end, stop), line: marker.line + 1 };
  };
  return {
    upgrade: section(upgrade, downgrade),
    downgrade: downgrade === undefined ? null : section(downgrade, upgrade),
  };
}
