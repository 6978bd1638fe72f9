/**
 * What the schema model does not describe, listed so that no command compares "nothing"
 * in silence: every object kind that `pg_dump --schema-only` writes for an application
 * schema and that athanor does not model shows up here by kind and name.
 *
 * One query, a UNION ALL of one branch per kind; removing a branch is how a kind
 * becomes "compared" (it is then modelled in introspect.ts).
 */
import type { Session } from "../dialects/types.js";
import type { QualifiedName } from "./model.js";
import { compareText } from "./model.js";

/** The kinds of object athanor does not compare (the README's table lists them). */
export const notComparedKinds = [
  "aggregate",
  "cast",
  "clustered index",
  "collation",
  "comment",
  "default privileges",
  "event trigger",
  "extension",
  "foreign data wrapper",
  "foreign server",
  "foreign table",
  "grant",
  "operator class",
  "publication",
  "replica identity",
  "schema",
  "statistics",
  "storage parameters",
  "text search configuration",
  "text search dictionary",
] as const;

/** One kind of object athanor does not compare. */
export type NotComparedKind = (typeof notComparedKinds)[number];

/** An object that exists but that the model does not describe (so a diff ignores it). */
export interface UnmodelledObject {
  readonly kind: NotComparedKind;
  /** Its schema; "" for objects of the whole database (event triggers, publications, ...). */
  readonly schema: string;
  /** The object's name; for objects of a table (rules, grants on a table...) `table.name`. */
  readonly name: string;
}

/** `function public.f`, `event trigger audit` (no schema for database-wide objects). */
export function describeUnmodelled(object: UnmodelledObject): string {
  return `${object.kind} ${object.schema === "" ? "" : `${object.schema}.`}${object.name}`;
}

// Objects that belong to an extension are the extension's business, not the schema's.
const notMember = (classTable: string, oid: string): string =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend ext WHERE ext.classid = '${classTable}'::regclass AND ext.objid = ${oid} AND ext.deptype = 'e')`;

// $1 schemas, $2/$3 excluded (schema, table) pairs: athanor's own tables.
const notExcluded = (n: string, c: string): string => `(${n}.nspname, ${c}.relname) NOT IN (SELECT x.s, x.t FROM unnest($2::text[], $3::text[]) AS x(s, t))`;

/** One branch per kind: each selects (kind, schema, name). */
const branches: readonly string[] = [
  // Extensions in the compared schemas are compared; those elsewhere are not.
  `SELECT 'extension', '', e.extname || ' (schema ' || en.nspname || ', version ' || e.extversion || ')'
   FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace en ON en.oid = e.extnamespace
   WHERE e.extname <> 'plpgsql' AND en.nspname <> ALL($1::text[])`,
  // Ordered-set and hypothetical-set aggregates (plain ones are compared).
  `SELECT 'aggregate', n.nspname, p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'
   FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace JOIN pg_catalog.pg_aggregate a ON a.aggfnoid = p.oid
   WHERE p.prokind = 'a' AND a.aggkind <> 'n' AND n.nspname = ANY($1::text[]) AND ${notMember("pg_catalog.pg_proc", "p.oid")}`,
  `SELECT 'foreign table', n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = 'f' AND n.nspname = ANY($1::text[]) AND ${notMember("pg_catalog.pg_class", "c.oid")}`,
  // Schemas outside the compared ones (and what they hold) are not compared at all.
  `SELECT 'schema', '', n.nspname FROM pg_catalog.pg_namespace n
   WHERE n.nspname <> ALL($1::text[]) AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
     AND ${notMember("pg_catalog.pg_namespace", "n.oid")}
     AND NOT (n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid)
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t WHERE t.typnamespace = n.oid)
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.pronamespace = n.oid))`,
  // Comments on objects athanor does not model (those it models carry theirs: see COMMENTS_SQL in introspect.ts).
  // Triggers, policies and rules have no schema of their own: their table's is theirs.
  `SELECT 'comment', COALESCE(io.schema, ''), io.type || ' ' || io.identity
   FROM pg_catalog.pg_description d, LATERAL pg_catalog.pg_identify_object(d.classoid, d.objoid, d.objsubid) io
   WHERE d.classoid NOT IN ('pg_catalog.pg_class'::regclass, 'pg_catalog.pg_constraint'::regclass, 'pg_catalog.pg_type'::regclass, 'pg_catalog.pg_namespace'::regclass,
                            'pg_catalog.pg_proc'::regclass, 'pg_catalog.pg_trigger'::regclass, 'pg_catalog.pg_policy'::regclass, 'pg_catalog.pg_rewrite'::regclass,
                            'pg_catalog.pg_operator'::regclass, 'pg_catalog.pg_extension'::regclass)
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend ext WHERE ext.classid = d.classoid AND ext.objid = d.objoid AND ext.deptype = 'e')
     AND io.schema = ANY($1::text[])`,
  // Comments on foreign tables (and their columns) and on ordered-set aggregates, which are not compared either.
  `SELECT 'comment', n.nspname, 'foreign table ' || c.relname FROM pg_catalog.pg_description d
   JOIN pg_catalog.pg_class c ON d.classoid = 'pg_catalog.pg_class'::regclass AND d.objoid = c.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = 'f' AND n.nspname = ANY($1::text[]) AND ${notMember("pg_catalog.pg_class", "c.oid")}`,
  `SELECT 'comment', n.nspname, 'aggregate ' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' FROM pg_catalog.pg_description d
   JOIN pg_catalog.pg_proc p ON d.classoid = 'pg_catalog.pg_proc'::regclass AND d.objoid = p.oid JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
   JOIN pg_catalog.pg_aggregate a ON a.aggfnoid = p.oid
   WHERE a.aggkind <> 'n' AND n.nspname = ANY($1::text[]) AND ${notMember("pg_catalog.pg_proc", "p.oid")}`,
  `SELECT 'storage parameters', n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.reloptions IS NOT NULL AND c.relkind IN ('m', 'v') AND n.nspname = ANY($1::text[]) AND ${notExcluded("n", "c")}
     AND ${notMember("pg_catalog.pg_class", "c.oid")}`,
  `SELECT 'replica identity', n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p') AND c.relreplident <> 'd' AND n.nspname = ANY($1::text[]) AND ${notExcluded("n", "c")}
     AND ${notMember("pg_catalog.pg_class", "c.oid")}`,
  `SELECT 'clustered index', n.nspname, c.relname || '.' || ic.relname
   FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE i.indisclustered AND n.nspname = ANY($1::text[]) AND ${notExcluded("n", "c")}`,
  `SELECT 'collation', n.nspname, co.collname FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace n ON n.oid = co.collnamespace
   WHERE n.nspname = ANY($1::text[]) AND ${notMember("pg_catalog.pg_collation", "co.oid")}`,
  `SELECT 'text search configuration', n.nspname, c.cfgname FROM pg_catalog.pg_ts_config c JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace
   WHERE n.nspname = ANY($1::text[]) AND ${notMember("pg_catalog.pg_ts_config", "c.oid")}`,
  `SELECT 'text search dictionary', n.nspname, d.dictname FROM pg_catalog.pg_ts_dict d JOIN pg_catalog.pg_namespace n ON n.oid = d.dictnamespace
   WHERE n.nspname = ANY($1::text[]) AND ${notMember("pg_catalog.pg_ts_dict", "d.oid")}`,
  `SELECT 'operator class', n.nspname, o.opcname FROM pg_catalog.pg_opclass o JOIN pg_catalog.pg_namespace n ON n.oid = o.opcnamespace
   WHERE n.nspname = ANY($1::text[]) AND ${notMember("pg_catalog.pg_opclass", "o.oid")}`,
  `SELECT 'statistics', n.nspname, s.stxname FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
   WHERE n.nspname = ANY($1::text[])`,
  // Database-wide objects (FirstNormalObjectId = 16384: older ones come with the server).
  `SELECT 'cast', '', pg_catalog.format_type(c.castsource, NULL) || ' AS ' || pg_catalog.format_type(c.casttarget, NULL)
   FROM pg_catalog.pg_cast c WHERE c.oid >= 16384 AND ${notMember("pg_catalog.pg_cast", "c.oid")}
     -- A range type's cast to its multirange belongs to the type (internal dependency).
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.classid = 'pg_catalog.pg_cast'::regclass AND i.objid = c.oid AND i.deptype = 'i')`,
  `SELECT 'event trigger', '', e.evtname FROM pg_catalog.pg_event_trigger e WHERE ${notMember("pg_catalog.pg_event_trigger", "e.oid")}`,
  `SELECT 'publication', '', p.pubname FROM pg_catalog.pg_publication p`,
  `SELECT 'foreign data wrapper', '', w.fdwname FROM pg_catalog.pg_foreign_data_wrapper w WHERE ${notMember("pg_catalog.pg_foreign_data_wrapper", "w.oid")}`,
  `SELECT 'foreign server', '', s.srvname FROM pg_catalog.pg_foreign_server s WHERE ${notMember("pg_catalog.pg_foreign_server", "s.oid")}`,
];

/** Grants and default privileges, listed when the config does not ask to compare them (roles differ between environments). */
const privilegeBranches: readonly string[] = [
  `SELECT 'grant', n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relacl IS NOT NULL AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname = ANY($1::text[]) AND ${notExcluded("n", "c")}
     AND ${notMember("pg_catalog.pg_class", "c.oid")}`,
  `SELECT 'grant', n.nspname, c.relname || '.' || a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped AND n.nspname = ANY($1::text[]) AND ${notExcluded("n", "c")}
     AND ${notMember("pg_catalog.pg_class", "c.oid")}`,
  `SELECT 'grant', n.nspname, p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'
   FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
   WHERE p.proacl IS NOT NULL AND n.nspname = ANY($1::text[]) AND ${notMember("pg_catalog.pg_proc", "p.oid")}`,
  `SELECT 'grant', n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
   WHERE t.typacl IS NOT NULL AND n.nspname = ANY($1::text[]) AND ${notMember("pg_catalog.pg_type", "t.oid")}`,
  // The public schema's ACL as initdb makes it (PostgreSQL 15+) is not a grant anyone wrote.
  `SELECT 'grant', '', 'schema ' || n.nspname FROM pg_catalog.pg_namespace n
   WHERE n.nspname = ANY($1::text[]) AND n.nspacl IS NOT NULL
     AND NOT (n.nspname = 'public' AND n.nspacl::text[] = ARRAY['pg_database_owner=UC/pg_database_owner', '=U/pg_database_owner'])`,
  `SELECT 'default privileges', COALESCE(n.nspname, ''), pg_catalog.pg_get_userbyid(d.defaclrole) || ' on ' ||
          CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types' ELSE 'schemas' END
   FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
   WHERE d.defaclnamespace = 0 OR n.nspname = ANY($1::text[])`,
];

const notComparedSql = (branchList: readonly string[]): string => `SELECT kind, schema, name FROM (\n${branchList.join("\nUNION ALL\n")}\n) AS objects(kind, schema, name)`;
const NOT_COMPARED_SQL = notComparedSql(branches);
const NOT_COMPARED_WITH_PRIVILEGES_SQL = notComparedSql([...branches, ...privilegeBranches]);

const kinds = new Set<string>(notComparedKinds);

/**
 * The objects that the model leaves out, so a command can say what it did not compare
 * instead of silently ignoring it. `exclude` names athanor's own tables. Grants and default
 * privileges are listed unless `options.privileges` says they are compared.
 *
 * @example
 * for (const o of await listUnmodelledObjects(session, ["public"])) console.log(describeUnmodelled(o));
 */
export async function listUnmodelledObjects(
  session: Session,
  schemas: readonly string[],
  exclude: readonly QualifiedName[] = [],
  options: { readonly privileges?: boolean } = {},
): Promise<UnmodelledObject[]> {
  const sql = options.privileges === true ? NOT_COMPARED_SQL : NOT_COMPARED_WITH_PRIVILEGES_SQL;
  const result = await session.query<Record<string, unknown>>(sql, [[...schemas], exclude.map((e) => e.schema), exclude.map((e) => e.name)]);
  const seen = new Set<string>();
  const objects: UnmodelledObject[] = [];
  for (const row of result.rows) {
    const kind = row["kind"];
    const schema = row["schema"];
    const name = row["name"];
    if (typeof kind !== "string" || typeof schema !== "string" || typeof name !== "string" || !kinds.has(kind)) continue;
    const key = `${kind}\u0000${schema}\u0000${name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    objects.push({ kind: kind as NotComparedKind, schema, name });
  }
  return objects.sort((a, b) => compareText(a.kind, b.kind) || compareText(a.schema, b.schema) || compareText(a.name, b.name));
}
