/**
 * Builders of in-memory revisions for unit tests of the graph, targets and plans
 * (Alembic's graph tests build maps from literals too). Not part of the public API.
 */
import type { RevisionFile } from "./types.js";

/** A 12-character id from a short readable name: `rid("a")` → `aaaaaaaaaaaa`, `rid("a1")` → `a1a1a1a1a1a1`. */
export function rid(name: string): string {
  return name.repeat(Math.ceil(12 / name.length)).slice(0, 12);
}

/** A revision file held in memory; `parents` and `dependsOn` take short names or full ids. */
export function revision(name: string, parents: readonly string[] = [], extra: Partial<Omit<RevisionFile, "id" | "parents">> = {}): RevisionFile {
  const id = rid(name);
  return {
    id,
    parents: parents.map((parent) => (parent.length === 12 ? parent : rid(parent))),
    message: `revision ${name}`,
    branchLabels: [],
    dependsOn: [],
    transactional: true,
    allow: [],
    path: `/project/migrations/${id}_${name}.sql`,
    relativePath: `${id}_${name}.sql`,
    format: "sql",
    checksum: "0".repeat(64),
    ...extra,
  };
}
