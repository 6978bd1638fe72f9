/**
 * Compares two sets of revisions, the base's and the branch's, by revision id: what
 * the branch adds, removes and edits. A revision is identified by the id in its header,
 * not by its file name (DESIGN.md §4), and it is edited when its checksum (the sha256 of
 * its text, line endings normalised) differs. Pure.
 */

/** What the comparison needs of a revision. */
export interface ComparableRevision {
  readonly id: string;
  readonly checksum: string;
  /** The file's name inside the migrations directory. */
  readonly relativePath: string;
}

/** A revision present on both sides. */
export interface RevisionPair<B, H> {
  readonly base: B;
  readonly head: H;
}

/** What {@link compareRevisionSets} returns; each list is in the order of the branch's (or, for `removed`, the base's) files. */
export interface RevisionSetComparison<B, H> {
  /** In the branch, not at the base. */
  readonly added: readonly H[];
  /** At the base, not in the branch. */
  readonly removed: readonly B[];
  /** On both sides with another checksum (the file may also have been renamed). */
  readonly edited: readonly RevisionPair<B, H>[];
  /** On both sides with the same checksum under another file name. */
  readonly renamed: readonly RevisionPair<B, H>[];
  /** How many revisions are the same on both sides (renamed ones included). */
  readonly unchanged: number;
}

/**
 * Compares the base's revisions with the branch's. When an id appears twice on one side
 * (a broken graph, reported elsewhere), the first file wins.
 * @example
 * compareRevisionSets(baseRevisions, graph.revisions()).added.map((r) => r.id)
 */
export function compareRevisionSets<B extends ComparableRevision, H extends ComparableRevision>(base: readonly B[], head: readonly H[]): RevisionSetComparison<B, H> {
  const baseById = new Map<string, B>();
  for (const revision of base) if (!baseById.has(revision.id)) baseById.set(revision.id, revision);
  const headIds = new Set<string>();
  const added: H[] = [];
  const edited: RevisionPair<B, H>[] = [];
  const renamed: RevisionPair<B, H>[] = [];
  let unchanged = 0;
  for (const revision of head) {
    if (headIds.has(revision.id)) continue;
    headIds.add(revision.id);
    const before = baseById.get(revision.id);
    if (before === undefined) added.push(revision);
    else if (before.checksum !== revision.checksum) edited.push({ base: before, head: revision });
    else {
      unchanged += 1;
      if (before.relativePath !== revision.relativePath) renamed.push({ base: before, head: revision });
    }
  }
  const removed = [...baseById.values()].filter((revision) => !headIds.has(revision.id));
  return { added, removed, edited, renamed, unchanged };
}
