/**
 * The linter's rules: stable ids (used in `-- athanor:allow RULE` and in JSON output),
 * the most severe level each can report, why the change is dangerous in PostgreSQL and
 * the safe pattern. The README's rule table is this table.
 */

/** How bad a finding is: `danger` locks, rewrites, loses data or fails; `warning` may. */
export type Severity = "danger" | "warning";

/** Every rule id, in the order the README lists them. */
export const RULE_IDS = [
  "drop-table",
  "drop-column",
  "drop-schema",
  "alter-column-type",
  "set-not-null",
  "add-foreign-key",
  "add-check",
  "create-index",
  "rename",
  "truncate",
  "delete-without-where",
  "update-without-where",
  "add-column-volatile-default",
  "add-column-not-null",
  "drop-index",
  "add-unique-constraint",
  "validate-in-transaction",
  "requires-no-transaction",
  "transaction-control",
] as const;

/** A rule's stable id. */
export type RuleId = (typeof RULE_IDS)[number];

/** What a rule is about, for documentation and for findings. */
export interface RuleInfo {
  readonly id: RuleId;
  /** The most severe level the rule reports (a few report `warning` when unsure). */
  readonly severity: Severity;
  /** One line naming what the rule catches. */
  readonly title: string;
  /** Why it is dangerous in PostgreSQL. */
  readonly why: string;
  /** The safe way to get the same result. */
  readonly safe: string;
}

const TX_FALSE = "`-- athanor:transaction false`";

/** The rule table. */
export const RULES: { readonly [K in RuleId]: RuleInfo & { readonly id: K } } = {
  "drop-table": {
    id: "drop-table",
    severity: "danger",
    title: "DROP TABLE",
    why: "Dropping a table deletes it and every row at once; nothing but a backup brings them back, and application code still using the table fails as soon as the drop commits.",
    safe: "Remove every use of the table from the application and deploy that first; drop the table in a later revision, after a backup.",
  },
  "drop-column": {
    id: "drop-column",
    severity: "danger",
    title: "ALTER TABLE ... DROP COLUMN",
    why: "Dropping a column loses its data, and application code that still names it (an ORM that lists every column in SELECT or INSERT) fails as soon as the drop commits.",
    safe: "Stop reading and writing the column in the application and deploy that first; drop the column in a later revision.",
  },
  "drop-schema": {
    id: "drop-schema",
    severity: "danger",
    title: "DROP SCHEMA",
    why: "Dropping a schema removes it; with CASCADE it also drops every table, view, function and type inside it, with their data, without listing them.",
    safe: "Drop the objects inside explicitly in reviewed revisions, then drop the schema without CASCADE so PostgreSQL refuses while anything is left in it.",
  },
  "alter-column-type": {
    id: "alter-column-type",
    severity: "danger",
    title: "ALTER COLUMN ... TYPE that rewrites the table",
    why: "Changing a column's type rewrites the whole table and rebuilds its indexes under an ACCESS EXCLUSIVE lock that blocks every read and write until it ends. PostgreSQL skips the rewrite only for binary-compatible widenings: varchar(n) to varchar(m >= n), unbounded varchar or text; text to unbounded varchar; varbit(n) to a wider varbit; numeric(p,s) to numeric(q >= p, s) or unbounded numeric; a larger or no precision for timestamp, timestamptz and interval; and only without a USING that changes the values or a new COLLATE. (When it is not told the column's current type, the linter warns when the new type is one that a widening reaches, and flags every other change as a rewrite.)",
    safe: "Expand and contract: add a column of the new type, backfill it in batches, move the application to it, then drop the old column in a later revision.",
  },
  "set-not-null": {
    id: "set-not-null",
    severity: "danger",
    title: "ALTER COLUMN ... SET NOT NULL without a validated CHECK",
    why: "SET NOT NULL scans the whole table for NULLs while holding an ACCESS EXCLUSIVE lock that blocks every read and write. Since PostgreSQL 12 the scan is skipped when a validated CHECK (column IS NOT NULL) constraint already proves it.",
    safe: `ADD CONSTRAINT name CHECK (column IS NOT NULL) NOT VALID; then VALIDATE CONSTRAINT name in a separate transaction (a later revision, or this one with ${TX_FALSE}); then SET NOT NULL (no scan) and DROP CONSTRAINT name. If the CHECK was validated by an earlier revision, allow this rule here. On PostgreSQL 18, ADD CONSTRAINT name NOT NULL column NOT VALID followed by VALIDATE CONSTRAINT name works too.`,
  },
  "add-foreign-key": {
    id: "add-foreign-key",
    severity: "danger",
    title: "FOREIGN KEY without NOT VALID",
    why: "Adding a foreign key scans the whole table to check existing rows while holding SHARE ROW EXCLUSIVE locks on both tables, which block every INSERT, UPDATE and DELETE on both until the scan ends.",
    safe: `ADD CONSTRAINT name FOREIGN KEY (...) REFERENCES ... NOT VALID (checks new rows only, brief lock); then VALIDATE CONSTRAINT name in a separate transaction (a later revision, or this one with ${TX_FALSE}): it takes only SHARE UPDATE EXCLUSIVE, so reads and writes go on.`,
  },
  "add-check": {
    id: "add-check",
    severity: "danger",
    title: "CHECK constraint without NOT VALID",
    why: "Adding a CHECK constraint scans the whole table to check existing rows while holding an ACCESS EXCLUSIVE lock that blocks every read and write until the scan ends.",
    safe: `ADD CONSTRAINT name CHECK (...) NOT VALID (checks new rows only, brief lock); then VALIDATE CONSTRAINT name in a separate transaction (a later revision, or this one with ${TX_FALSE}): it takes only SHARE UPDATE EXCLUSIVE, so reads and writes go on.`,
  },
  "create-index": {
    id: "create-index",
    severity: "danger",
    title: "CREATE INDEX without CONCURRENTLY on an existing table",
    why: "CREATE INDEX without CONCURRENTLY holds a SHARE lock on the table for the whole build: every INSERT, UPDATE and DELETE waits until the index is built.",
    safe: `CREATE INDEX CONCURRENTLY in a revision with ${TX_FALSE} (it cannot run in a transaction block); if it fails it leaves an INVALID index to drop before retrying. An index on a table created in the same revision is fine as it is.`,
  },
  rename: {
    id: "rename",
    severity: "danger",
    title: "RENAME of a table, view or column",
    why: "Renaming a table, view or column breaks every query that uses the old name the moment it commits: application instances still running the old code fail until they are all replaced.",
    safe: "Expand and contract: add the new column (or table), write to both, backfill, move the application, then drop the old one later. For a table: rename it and, in the same revision, CREATE VIEW old_name AS SELECT * FROM new_name (a simple view accepts writes too); drop the view once no code uses the old name.",
  },
  truncate: {
    id: "truncate",
    severity: "danger",
    title: "TRUNCATE",
    why: "TRUNCATE deletes every row of the table at once under an ACCESS EXCLUSIVE lock; once committed only a backup brings the rows back, and no ON DELETE triggers run.",
    safe: "Back the data up first and allow this rule in the revision explicitly; to remove only some rows, DELETE ... WHERE in batches.",
  },
  "delete-without-where": {
    id: "delete-without-where",
    severity: "danger",
    title: "DELETE without WHERE",
    why: "DELETE without WHERE removes every row of the table, and locks each of them until the transaction ends.",
    safe: "Add a WHERE clause that names the rows to remove, and delete large sets in batches (one transaction per batch); if the whole table really must be emptied, allow this rule in the revision explicitly.",
  },
  "update-without-where": {
    id: "update-without-where",
    severity: "danger",
    title: "UPDATE without WHERE",
    why: "UPDATE without WHERE overwrites every row: it locks each row until the transaction ends (blocking concurrent writers) and leaves a dead copy of every row behind (table and index bloat).",
    safe: "Add a WHERE clause; backfill a large table in batches by key range (WHERE id >= ... AND id < ...), each batch in its own transaction.",
  },
  "add-column-volatile-default": {
    id: "add-column-volatile-default",
    severity: "danger",
    title: "ADD COLUMN with a volatile default (rewrites the table)",
    why: "Since PostgreSQL 11, ADD COLUMN with a non-volatile default (a constant, now(), CURRENT_TIMESTAMP) stores the value once in the catalog and rewrites nothing. A volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval(), and so serial and identity columns) or a STORED generated column must be computed for every row: the whole table is rewritten under an ACCESS EXCLUSIVE lock that blocks every read and write.",
    safe: "Add the column without a default (or with a constant one); ALTER COLUMN ... SET DEFAULT the volatile expression (it applies to new rows only); backfill existing rows in batches.",
  },
  "add-column-not-null": {
    id: "add-column-not-null",
    severity: "danger",
    title: "ADD COLUMN ... NOT NULL without a default",
    why: "ADD COLUMN ... NOT NULL (or PRIMARY KEY) without a DEFAULT fills every existing row with NULL and then fails: it works on an empty development database and fails on any table that has rows.",
    safe: "Give the column a constant DEFAULT (PostgreSQL 11+ adds it without rewriting the table), or add it nullable, backfill it, then SET NOT NULL with the validated-CHECK pattern.",
  },
  "drop-index": {
    id: "drop-index",
    severity: "warning",
    title: "DROP INDEX without CONCURRENTLY",
    why: "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the index's table: quick once granted, but it waits behind every running query on the table and every query that arrives meanwhile waits behind it.",
    safe: `DROP INDEX CONCURRENTLY in a revision with ${TX_FALSE}.`,
  },
  "add-unique-constraint": {
    id: "add-unique-constraint",
    severity: "warning",
    title: "ADD PRIMARY KEY or UNIQUE that builds its index",
    why: "ADD PRIMARY KEY or ADD UNIQUE without USING INDEX builds a new index while holding an ACCESS EXCLUSIVE lock that blocks every read and write for the whole build (a PRIMARY KEY also sets NOT NULL on its columns, which scans the table).",
    safe: `CREATE UNIQUE INDEX CONCURRENTLY name ON table (...) in a revision with ${TX_FALSE}; then ALTER TABLE table ADD CONSTRAINT c PRIMARY KEY USING INDEX name (or UNIQUE USING INDEX name), which takes only a brief lock. For a primary key, make the columns NOT NULL first (see set-not-null).`,
  },
  "validate-in-transaction": {
    id: "validate-in-transaction",
    severity: "warning",
    title: "VALIDATE CONSTRAINT in the transaction that added it NOT VALID",
    why: "This revision runs in one transaction, so the lock taken by ADD CONSTRAINT ... NOT VALID (ACCESS EXCLUSIVE for CHECK and NOT NULL, SHARE ROW EXCLUSIVE on both tables for a FOREIGN KEY) is still held while VALIDATE CONSTRAINT scans the table: NOT VALID gains nothing.",
    safe: `Validate in a later revision, or give this revision ${TX_FALSE} so that each statement commits on its own.`,
  },
  "requires-no-transaction": {
    id: "requires-no-transaction",
    severity: "danger",
    title: "Statement that cannot run in a transaction block, in a transactional revision",
    why: "CREATE INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, DETACH PARTITION CONCURRENTLY, VACUUM, CREATE or DROP DATABASE or TABLESPACE and ALTER SYSTEM cannot run inside a transaction block: in a revision that runs in a transaction, PostgreSQL rejects the statement and the revision fails.",
    safe: `Give this revision ${TX_FALSE} (each statement then commits on its own; keep such revisions small, as a failure half-way leaves the earlier statements applied).`,
  },
  "transaction-control": {
    id: "transaction-control",
    severity: "danger",
    title: "BEGIN, COMMIT, ROLLBACK, END or ABORT in a transactional revision",
    why: "athanor runs a transactional revision in a transaction of its own and records it in the same transaction: a COMMIT in the file commits the part before it behind athanor's back (a later failure can no longer undo it), a ROLLBACK undoes it and lets the rest run outside any transaction, a BEGIN is ignored. `upgrade` refuses such a revision before anything runs (exit 2). SAVEPOINT, RELEASE and ROLLBACK TO SAVEPOINT are allowed.",
    safe: `Remove the statement (athanor opens and commits the transaction), or give the revision ${TX_FALSE} when it really must commit in steps.`,
  },
};

/** Rules whose findings \`-- athanor:allow\` cannot drop: \`upgrade\` refuses such a revision whatever the linter says. */
export const REFUSED_AT_RUN_TIME: ReadonlySet<RuleId> = new Set<RuleId>(["transaction-control", "requires-no-transaction"]);

/** True when `value` is a rule id (for validating `-- athanor:allow` lists). */
export function isRuleId(value: string): value is RuleId {
  return (RULE_IDS as readonly string[]).includes(value);
}
