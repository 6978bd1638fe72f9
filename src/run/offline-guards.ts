/**
 * The guards of an offline script (pure). The script is written without reading the
 * database, for the state the user named (`base`, or the `A` of `A:B`); a DBA may run it
 * twice, or where another revision stands, or after an online run. Each revision's part
 * therefore starts (inside its transaction, before its first statement) with a DO block
 * that reads the version table and raises when the database is not where the online run
 * would have to be to run that step: psql (ON_ERROR_STOP) stops there, the transaction
 * rolls back, and nothing of the revision runs or is recorded.
 * - upgrade: the revision has no row (applied or started), and every parent and
 *   dependency is applied;
 * - downgrade: the revision is applied, and none of its children or dependents has a row.
 */
import { quoteLiteral } from "../dialects/sql.js";
import type { RevisionFile } from "../revisions/types.js";
import type { VersionTables } from "./version-table.js";

/** What a downgrade's guard must know of the graph: who stands on a revision. */
export interface StandingOn {
  childrenOf(id: string): string[];
  dependentsOf(id: string): string[];
}

/** The DO block that stops the script before `file`'s step when the database is elsewhere. */
export function offlineStepGuardSql(tables: VersionTables, file: RevisionFile, direction: "up" | "down", graph: StandingOn | null): string {
  const id = quoteLiteral(file.id);
  const checks: string[] = [];
  const raise = (message: string) =>
    `RAISE EXCEPTION USING MESSAGE = ${quoteLiteral(`athanor: ${message}; this script was written for a database where it is, so it stops before running anything of ${file.id}`)}, ` +
    `HINT = ${quoteLiteral(`Run \`athanor current\` against this database, and write the script again from where it stands (\`athanor ${direction === "up" ? "upgrade" : "downgrade"} --sql FROM:TO\`).`)};`;
  if (direction === "up") {
    checks.push(`IF EXISTS (SELECT 1 FROM ${tables.versions} WHERE revision = ${id}) THEN ${raise(`revision ${file.id} is already recorded in ${tables.display} (applied or started), not pending`)} END IF;`);
    const needed = [...file.parents, ...file.dependsOn];
    if (needed.length > 0) {
      const list = needed.map(quoteLiteral).join(", ");
      checks.push(
        `IF EXISTS (SELECT 1 FROM unnest(ARRAY[${list}]::text[]) AS needed(revision) WHERE NOT EXISTS (SELECT 1 FROM ${tables.versions} AS v WHERE v.revision = needed.revision AND v.state = 'applied')) THEN ${raise(`a revision ${file.id} stands on (${needed.join(", ")}) is not applied in ${tables.display}`)} END IF;`,
      );
    }
  } else {
    checks.push(`IF NOT EXISTS (SELECT 1 FROM ${tables.versions} WHERE revision = ${id} AND state = 'applied') THEN ${raise(`revision ${file.id} is not applied in ${tables.display}`)} END IF;`);
    const above = graph === null ? [] : [...new Set([...graph.childrenOf(file.id), ...graph.dependentsOf(file.id)])];
    if (above.length > 0) {
      checks.push(
        `IF EXISTS (SELECT 1 FROM ${tables.versions} WHERE revision IN (${above.map(quoteLiteral).join(", ")})) THEN ${raise(`a revision standing on ${file.id} (one of ${above.join(", ")}) is still recorded in ${tables.display}`)} END IF;`,
      );
    }
  }
  return `DO $$ BEGIN ${checks.join(" ")} END $$;`;
}
