/**
 * Catalog introspection: a Session → one normalised SchemaModel, identical for
 * PostgreSQL 13+ and PGlite. One query per kind of object (not per table), parameters
 * bound, so 500 tables take a handful of round trips.
 *
 * The queries run with `search_path` empty, so the server's deparsers qualify every
 * name outside `pg_catalog` (`public.mood`, `nextval('public.t_id_seq'::regclass)`):
 * the text then means the same thing whatever search path a revision later runs with.
 * The session's own search path is restored afterwards.
 */
import type { Session } from "../dialects/types.js";
import type {
  Column,
  CompositeType,
  DefaultPrivilege,
  DefaultPrivilegeObjects,
  Grant,
  ObjectComment,
  ObjectRef,
  Constraint,
  Domain,
  EnumType,
  Extension,
  ForeignKey,
  ForeignKeyAction,
  Index,
  Operator,
  Policy,
  QualifiedName,
  RangeType,
  Routine,
  Rule,
  SchemaModel,
  Sequence,
  SerialSequenceOptions,
  Table,
  Trigger,
  View,
  ViewDependency,
} from "./model.js";
import { compareText, defaultPrivilegeKey, grantKey, objectKey, operatorKey, refKey, sameSerialSequence, serialSequenceDefaults } from "./model.js";
import { normalizeArrayCasts, normalizeWhitespace, unqualifySingleRelationView } from "./sql-text.js";
import { IntrospectionError } from "./errors.js";

/** What to read. */
export interface IntrospectOptions {
  /** Schemas to read (e.g. `["public"]`); objects elsewhere are ignored. */
  schemas: readonly string[];
  /** Tables to leave out, typically athanor's version and history tables. */
  exclude?: readonly QualifiedName[];
}

type Row = Record<string, unknown>;

/**
 * Reads the schema objects of `options.schemas` into a SchemaModel.
 *
 * @example
 * const model = await introspect(session, { schemas: ["public"], exclude: [{ schema: "public", name: "athanor_version" }] });
 */
export async function introspect(session: Session, options: IntrospectOptions): Promise<SchemaModel> {
  const schemas = [...new Set(options.schemas)];
  const exclude = options.exclude ?? [];
  const excludeSchemas = exclude.map((e) => e.schema);
  const excludeNames = exclude.map((e) => e.name);
  const version = await session.serverVersion();
  const saved = await session.query<Row>("SELECT current_setting('search_path') AS path");
  const savedPath = text(saved.rows[0]?.["path"], "search_path");
  await session.query("SELECT set_config('search_path', '', false)");
  try {
    const relationFilter = [schemas, excludeSchemas, excludeNames];
    // One query per kind of object; a Session is one connection, so they run one after the other.
    const rows = async (sql: string, params: readonly unknown[]): Promise<Row[]> => (await session.query<Row>(sql, params)).rows;
    return assemble(version, {
      schemaRows: await rows(SCHEMAS_SQL, [schemas]),
      enumRows: await rows(ENUMS_SQL, [schemas]),
      sequenceRows: await rows(SEQUENCES_SQL, [schemas]),
      relationRows: await rows(RELATIONS_SQL, relationFilter),
      columnRows: await rows(COLUMNS_SQL, relationFilter),
      constraintRows: await rows(CONSTRAINTS_SQL, relationFilter),
      indexRows: await rows(INDEXES_SQL, relationFilter),
      extensionRows: await rows(EXTENSIONS_SQL, [schemas]),
      routineRows: await rows(ROUTINES_SQL, [schemas]),
      domainRows: await rows(DOMAINS_SQL, [schemas]),
      compositeRows: await rows(COMPOSITES_SQL, [schemas]),
      triggerRows: await rows(TRIGGERS_SQL, relationFilter),
      policyRows: await rows(POLICIES_SQL, relationFilter),
      operatorRows: await rows(OPERATORS_SQL, [schemas]),
      ruleRows: await rows(RULES_SQL, relationFilter),
      rangeRows: await rows(RANGES_SQL, [schemas]),
      commentRows: await rows(COMMENTS_SQL, relationFilter),
      grantRows: await rows(GRANTS_SQL, relationFilter),
      defaultPrivilegeRows: await rows(DEFAULT_PRIVILEGES_SQL, [schemas]),
    });
  } finally {
    await session.query("SELECT set_config('search_path', $1, false)", [savedPath]);
  }
}

// Objects that belong to an extension are the extension's business, not the schema's.
const notExtensionMember = (classTable: string, oid: string): string =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend ext WHERE ext.classid = '${classTable}'::regclass AND ext.objid = ${oid} AND ext.deptype = 'e')`;

const SCHEMAS_SQL = `
SELECT n.nspname AS name
FROM pg_catalog.pg_namespace n
WHERE n.nspname = ANY($1::text[])`;

const ENUMS_SQL = `
SELECT n.nspname AS schema, t.typname AS name,
       (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) AS labels
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e' AND n.nspname = ANY($1::text[]) AND ${notExtensionMember("pg_catalog.pg_type", "t.oid")}`;

// Sequences owned by a column (serial: deptype 'a'; identity: 'i') belong to their column.
const SEQUENCES_SQL = `
SELECT n.nspname AS schema, c.relname AS name, pg_catalog.format_type(s.seqtypid, NULL) AS data_type,
       s.seqstart::text AS start, s.seqincrement::text AS increment, s.seqmin::text AS min_value,
       s.seqmax::text AS max_value, s.seqcache::text AS cache, s.seqcycle AS cycle
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1::text[])
  AND ${notExtensionMember("pg_catalog.pg_class", "c.oid")}
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                    AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i'))`;

const relationWhere = (alias: string, namespaceAlias: string): string => `
  ${alias}.relkind IN ('r', 'v', 'm', 'p')
  AND ${namespaceAlias}.nspname = ANY($1::text[])
  AND (${namespaceAlias}.nspname, ${alias}.relname) NOT IN (SELECT x.s, x.t FROM unnest($2::text[], $3::text[]) AS x(s, t))
  AND ${notExtensionMember("pg_catalog.pg_class", `${alias}.oid`)}`;

const RELATIONS_SQL = `
SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind,
       pg_catalog.obj_description(c.oid, 'pg_class') AS comment,
       c.relpersistence = 'u' AS unlogged, pg_catalog.array_to_json(c.reloptions) AS storage, c.relrowsecurity AS row_security, c.relforcerowsecurity AS force_row_security,
       CASE WHEN NOT c.relispartition THEN (SELECT json_agg(json_build_array(pn.nspname, pc.relname) ORDER BY i.inhseqno) FROM pg_catalog.pg_inherits i
          JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
          WHERE i.inhrelid = c.oid) END AS inherits,
       CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partition_by,
       CASE WHEN c.relispartition THEN (SELECT json_build_array(pn.nspname, pc.relname, pg_catalog.pg_get_expr(c.relpartbound, c.oid))
          FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
          WHERE i.inhrelid = c.oid) END AS partition_of,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid, true) END AS view_definition,
       CASE WHEN c.relkind IN ('v', 'm') THEN (
         SELECT json_agg(json_build_array(dn.nspname, dc.relname, da.attname))
         FROM pg_catalog.pg_rewrite r
         JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
         JOIN pg_catalog.pg_class dc ON d.refclassid = 'pg_catalog.pg_class'::regclass AND dc.oid = d.refobjid
         JOIN pg_catalog.pg_namespace dn ON dn.oid = dc.relnamespace
         LEFT JOIN pg_catalog.pg_attribute da ON d.refobjsubid > 0 AND da.attrelid = dc.oid AND da.attnum = d.refobjsubid
         WHERE r.ev_class = c.oid AND dc.oid <> c.oid AND dc.relkind IN ('r', 'v', 'm', 'p', 'f')
       ) END AS depends_on
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ${relationWhere("c", "n")}`;

// A serial column: its default takes nextval() of a sequence that the column owns (pg_depend deptype 'a');
// the owned sequence's name comes back here and the default is compared with it in assemble().
const COLUMNS_SQL = `
WITH owned AS (
  SELECT DISTINCT ON (d.refobjid, d.refobjsubid) d.refobjid AS relid, d.refobjsubid AS attnum, d.objid::regclass::text AS sequence, s.relname AS sequence_name,
         json_build_array(json_build_array(pg_catalog.format_type(q.seqtypid, NULL), q.seqstart::text, q.seqincrement::text, q.seqmin::text,
           q.seqmax::text, q.seqcache::text, q.seqcycle::text, (s.relpersistence = 'u')::text)) AS sequence_options
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
  JOIN pg_catalog.pg_sequence q ON q.seqrelid = s.oid
  WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
    AND d.refobjsubid > 0 AND d.deptype = 'a'
  ORDER BY d.refobjid, d.refobjsubid, d.objid::regclass::text
)
SELECT n.nspname AS schema, c.relname AS relation, a.attname AS name, a.attnum AS position,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       a.attidentity AS identity, a.attgenerated AS generated,
       pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS default_expr,
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN
         CASE WHEN cn.nspname = 'pg_catalog' THEN pg_catalog.quote_ident(co.collname)
              ELSE pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END
       END AS collation,
       ds.description AS comment,
       owned.sequence AS owned_sequence, owned.sequence_name AS owned_sequence_name, owned.sequence_options, a.attislocal AS local,
       -- Before PostgreSQL 15 sequences are always logged, even a serial one of an unlogged table.
       c.relpersistence = 'u' AND current_setting('server_version_num')::int >= 150000 AS relation_unlogged,
       -- -1 (up to PostgreSQL 16) and null (17+) both mean the default target.
       NULLIF(a.attstattarget::int, -1)::text AS statistics
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_catalog.pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_catalog.pg_class'::regclass AND ds.objsubid = a.attnum
LEFT JOIN owned ON owned.relid = c.oid AND owned.attnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND ${relationWhere("c", "n")}`;

// The names of a constraint's columns, in key order. Each is looked up by (attrelid, attnum)
// (OFFSET 0 keeps the lookup a subquery): joined, the planner read every attribute of the
// table for each constraint (PostgreSQL 15: 73 → 37 ms at 500 tables; PGlite 298 → 213 ms).
// An expression's 0 in an exclusion constraint's key has no attribute and is left out, as before.
const keyNames = (keys: string, relation: string): string =>
  `(SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(${keys}) WITH ORDINALITY AS k(attnum, ord)
     CROSS JOIN LATERAL (SELECT a.attname FROM pg_catalog.pg_attribute a WHERE a.attrelid = ${relation} AND a.attnum = k.attnum OFFSET 0) a)`;

// contype 'n' (PostgreSQL 18 records NOT NULL as constraints) and 't' (constraint triggers) are left out:
// nullability is a column property here.
const CONSTRAINTS_SQL = `
SELECT n.nspname AS schema, c.relname AS relation, con.conname AS name, con.contype AS kind,
       pg_catalog.pg_get_constraintdef(con.oid, true) AS definition,
       ${keyNames("con.conkey", "con.conrelid")} AS columns,
       fn.nspname AS ref_schema, fc.relname AS ref_table,
       ${keyNames("con.confkey", "con.confrelid")} AS ref_columns,
       con.confupdtype AS on_update, con.confdeltype AS on_delete, con.confmatchtype AS match,
       con.condeferrable AS deferrable, con.condeferred AS deferred, con.conislocal AS local
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.contype IN ('p', 'u', 'c', 'x', 'f') AND c.relkind IN ('r', 'p') AND con.conparentid = 0 AND ${relationWhere("c", "n")}`;

// Indexes that implement a primary key, unique or exclusion constraint are part of the constraint.
const INDEXES_SQL = `
SELECT n.nspname AS schema, c.relname AS relation, ic.relname AS name, i.indisunique AS is_unique,
       pg_catalog.pg_get_indexdef(i.indexrelid) AS definition,
       (SELECT json_agg(json_build_array(a.attnum::text, a.attstattarget::text) ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
          WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0) AS statistics
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm', 'p') AND ${relationWhere("c", "n")}
  -- An index of a partition attached to its parent's index follows the parent's.
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits ii WHERE ii.inhrelid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con
                  WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))`;

const EXTENSIONS_SQL = `
SELECT e.extname AS name, n.nspname AS schema, e.extversion AS version,
       (SELECT json_agg(r.extname ORDER BY r.extname) FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension r ON r.oid = d.refobjid
         WHERE d.classid = 'pg_catalog.pg_extension'::regclass AND d.objid = e.oid AND d.refclassid = 'pg_catalog.pg_extension'::regclass) AS requires
FROM pg_catalog.pg_extension e
JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname <> 'plpgsql' AND n.nspname = ANY($1::text[])`;

// The routines the model holds (p: pg_proc, n: its namespace; $1 schemas).
const routineWhere = `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend i WHERE i.classid = 'pg_catalog.pg_proc'::regclass AND i.objid = p.oid AND i.deptype = 'i')
  AND (p.prokind IN ('f', 'p', 'w') OR (p.prokind = 'a' AND EXISTS (SELECT 1 FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = p.oid AND a.aggkind = 'n')))
  AND n.nspname = ANY($1::text[]) AND ${notExtensionMember("pg_catalog.pg_proc", "p.oid")}`;

// The types the model holds as enums, domains, range and composite types (t: pg_type, n: its namespace).
const typeWhere = `(t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_catalog.pg_class tc WHERE tc.oid = t.typrelid AND tc.relkind = 'c')))
  AND n.nspname = ANY($1::text[]) AND ${notExtensionMember("pg_catalog.pg_type", "t.oid")}`;

// A routine whose signature uses a table's row type, or whose BEGIN ATOMIC body reads a relation, must follow it.
// Functions that depend internally on another object (a range type's constructors) are that object's.
const ROUTINES_SQL = `
SELECT n.nspname AS schema, p.proname AS name, p.prokind AS kind,
       pg_catalog.pg_get_function_identity_arguments(p.oid) AS arguments,
       CASE WHEN p.prokind = 'a' THEN (
         SELECT 'CREATE AGGREGATE ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname)
                || '(' || pg_catalog.pg_get_function_arguments(p.oid) || ') (SFUNC = ' || a.aggtransfn::regproc::text
                || ', STYPE = ' || pg_catalog.format_type(a.aggtranstype, NULL)
                || CASE WHEN a.aggfinalfn <> 0 THEN ', FINALFUNC = ' || a.aggfinalfn::regproc::text ELSE '' END
                || CASE WHEN a.aggcombinefn <> 0 THEN ', COMBINEFUNC = ' || a.aggcombinefn::regproc::text ELSE '' END
                || CASE WHEN a.agginitval IS NOT NULL THEN ', INITCOND = ' || pg_catalog.quote_literal(a.agginitval) ELSE '' END
                || CASE WHEN a.aggsortop <> 0 THEN ', SORTOP = ' || a.aggsortop::regoperator::text ELSE '' END
                || CASE WHEN p.proparallel = 's' THEN ', PARALLEL = SAFE' WHEN p.proparallel = 'r' THEN ', PARALLEL = RESTRICTED' ELSE '' END
                || ')'
         FROM pg_catalog.pg_aggregate a WHERE a.aggfnoid = p.oid)
       ELSE pg_catalog.pg_get_functiondef(p.oid) END AS definition,
       (SELECT jsonb_agg(DISTINCT jsonb_build_array(rn.nspname, rc.relname))
        FROM pg_catalog.pg_depend d
        LEFT JOIN pg_catalog.pg_type t ON d.refclassid = 'pg_catalog.pg_type'::regclass AND t.oid = d.refobjid
        JOIN pg_catalog.pg_class rc ON rc.oid = CASE WHEN d.refclassid = 'pg_catalog.pg_class'::regclass THEN d.refobjid ELSE t.typrelid END
        JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
        WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND rc.relkind IN ('r', 'v', 'm', 'p', 'f')) AS uses_relations
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE ${routineWhere}`;

const DOMAINS_SQL = `
SELECT n.nspname AS schema, t.typname AS name, pg_catalog.format_type(t.typbasetype, t.typtypmod) AS base_type,
       t.typnotnull AS not_null, pg_catalog.pg_get_expr(t.typdefaultbin, 0) AS default_expr,
       CASE WHEN t.typcollation <> 0 AND t.typcollation <> bt.typcollation THEN
         CASE WHEN cn.nspname = 'pg_catalog' THEN pg_catalog.quote_ident(co.collname)
              ELSE pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END
       END AS collation,
       (SELECT json_agg(json_build_array(con.conname, pg_catalog.pg_get_constraintdef(con.oid, true)) ORDER BY con.conname)
          FROM pg_catalog.pg_constraint con WHERE con.contypid = t.oid AND con.contype = 'c') AS constraints
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
WHERE t.typtype = 'd' AND n.nspname = ANY($1::text[]) AND ${notExtensionMember("pg_catalog.pg_type", "t.oid")}`;

const COMPOSITES_SQL = `
SELECT n.nspname AS schema, t.typname AS name,
       (SELECT json_agg(json_build_array(a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
                 CASE WHEN a.attcollation <> 0 AND a.attcollation <> at.typcollation THEN
                   CASE WHEN cn.nspname = 'pg_catalog' THEN pg_catalog.quote_ident(co.collname)
                        ELSE pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END END) ORDER BY a.attnum)
          FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type at ON at.oid = a.atttypid
          LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
          LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
          WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) AS attributes
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
JOIN pg_catalog.pg_class tc ON tc.oid = t.typrelid
WHERE t.typtype = 'c' AND tc.relkind = 'c' AND n.nspname = ANY($1::text[]) AND ${notExtensionMember("pg_catalog.pg_type", "t.oid")}`;

// Clones of a partitioned table's trigger on its partitions (tgparentid) follow the parent's.
const TRIGGERS_SQL = `
SELECT n.nspname AS schema, c.relname AS relation, t.tgname AS name, pg_catalog.pg_get_triggerdef(t.oid, false) AS definition
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND ${relationWhere("c", "n")}`;

const POLICIES_SQL = `
SELECT n.nspname AS schema, c.relname AS relation, pol.polname AS name, pol.polpermissive AS permissive, pol.polcmd AS command,
       CASE WHEN pol.polroles = '{0}' THEN json_build_array('PUBLIC')
            ELSE (SELECT json_agg(pg_catalog.quote_ident(r.rolname) ORDER BY r.rolname) FROM pg_catalog.pg_roles r WHERE r.oid = ANY(pol.polroles)) END AS roles,
       pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) AS using_expr,
       pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) AS check_expr
FROM pg_catalog.pg_policy pol
JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ${relationWhere("c", "n")}`;

// The CREATE OPERATOR statement pg_dump would write; with the search path empty, regproc names are qualified.
const operatorName = (oid: string): string =>
  `(SELECT 'OPERATOR(' || pg_catalog.quote_ident(xn.nspname) || '.' || x.oprname || ')' FROM pg_catalog.pg_operator x
     JOIN pg_catalog.pg_namespace xn ON xn.oid = x.oprnamespace WHERE x.oid = ${oid})`;
const OPERATORS_SQL = `
SELECT n.nspname AS schema, o.oprname AS name,
       CASE WHEN o.oprleft = 0 THEN 'NONE' ELSE pg_catalog.format_type(o.oprleft, NULL) END AS left_type,
       pg_catalog.format_type(o.oprright, NULL) AS right_type,
       'CREATE OPERATOR ' || pg_catalog.quote_ident(n.nspname) || '.' || o.oprname || ' (FUNCTION = ' || o.oprcode::regproc::text
         || CASE WHEN o.oprleft <> 0 THEN ', LEFTARG = ' || pg_catalog.format_type(o.oprleft, NULL) ELSE '' END
         || ', RIGHTARG = ' || pg_catalog.format_type(o.oprright, NULL)
         || CASE WHEN o.oprcom <> 0 THEN ', COMMUTATOR = ' || ${operatorName("o.oprcom")} ELSE '' END
         || CASE WHEN o.oprnegate <> 0 THEN ', NEGATOR = ' || ${operatorName("o.oprnegate")} ELSE '' END
         || CASE WHEN o.oprrest <> 0 THEN ', RESTRICT = ' || o.oprrest::regproc::text ELSE '' END
         || CASE WHEN o.oprjoin <> 0 THEN ', JOIN = ' || o.oprjoin::regproc::text ELSE '' END
         || CASE WHEN o.oprcanhash THEN ', HASHES' ELSE '' END
         || CASE WHEN o.oprcanmerge THEN ', MERGES' ELSE '' END || ')' AS definition
FROM pg_catalog.pg_operator o
JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
WHERE n.nspname = ANY($1::text[]) AND ${notExtensionMember("pg_catalog.pg_operator", "o.oid")}`;

const RULES_SQL = `
SELECT n.nspname AS schema, c.relname AS relation, r.rulename AS name, pg_catalog.pg_get_ruledef(r.oid) AS definition
FROM pg_catalog.pg_rewrite r
JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND ${relationWhere("c", "n")}`;

// rngmultitypid (PostgreSQL 14+) is read through to_jsonb so that the query runs on 13 too.
const RANGES_SQL = `
SELECT n.nspname AS schema, t.typname AS name,
       'CREATE TYPE ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.typname)
         || ' AS RANGE (SUBTYPE = ' || pg_catalog.format_type(rg.rngsubtype, NULL)
         || CASE WHEN NOT opc.opcdefault THEN ', SUBTYPE_OPCLASS = ' || pg_catalog.quote_ident(opn.nspname) || '.' || pg_catalog.quote_ident(opc.opcname) ELSE '' END
         || CASE WHEN rg.rngcollation <> 0 AND rg.rngcollation <> st.typcollation THEN ', COLLATION = '
              || pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) ELSE '' END
         || CASE WHEN rg.rngcanonical <> 0 THEN ', CANONICAL = ' || rg.rngcanonical::regproc::text ELSE '' END
         || CASE WHEN rg.rngsubdiff <> 0 THEN ', SUBTYPE_DIFF = ' || rg.rngsubdiff::regproc::text ELSE '' END
         || COALESCE((SELECT ', MULTIRANGE_TYPE_NAME = ' || pg_catalog.quote_ident(mn.nspname) || '.' || pg_catalog.quote_ident(mt.typname)
              FROM pg_catalog.pg_type mt JOIN pg_catalog.pg_namespace mn ON mn.oid = mt.typnamespace
              WHERE mt.oid = (pg_catalog.to_jsonb(rg.*) ->> 'rngmultitypid')::oid), '') || ')' AS definition
FROM pg_catalog.pg_range rg
JOIN pg_catalog.pg_type t ON t.oid = rg.rngtypid
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
JOIN pg_catalog.pg_type st ON st.oid = rg.rngsubtype
JOIN pg_catalog.pg_opclass opc ON opc.oid = rg.rngsubopc
JOIN pg_catalog.pg_namespace opn ON opn.oid = opc.opcnamespace
LEFT JOIN pg_catalog.pg_collation co ON co.oid = rg.rngcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
WHERE n.nspname = ANY($1::text[]) AND ${notExtensionMember("pg_catalog.pg_type", "t.oid")}`;

const routineKindSql = `CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END`;

// Comments the model's objects do not carry themselves (tables, their columns and views do), on
// the same objects the queries above read (not the indexes and constraints a partition inherits): one
// branch per kind giving (kind, schema, parent, name, arguments, left, right) and the catalogue
// address of the comment. A new extension has its control file's comment: only another one counts.
const COMMENTS_SQL = `
SELECT o.kind, o.schema, o.parent, o.name, o.arguments, o.left_type, o.right_type, d.description AS text
FROM (
  SELECT 'index' AS kind, n.nspname AS schema, NULL::text AS parent, ic.relname AS name, NULL::text AS arguments, NULL::text AS left_type, NULL::text AS right_type,
         'pg_catalog.pg_class'::regclass AS classoid, ic.oid AS objoid, 0 AS objsubid
  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'm', 'p') AND ${relationWhere("c", "n")}
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits ii WHERE ii.inhrelid = i.indexrelid)
  UNION ALL
  SELECT 'sequence', n.nspname, NULL, c.relname, NULL, NULL, NULL, 'pg_catalog.pg_class'::regclass, c.oid, 0
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'S' AND n.nspname = ANY($1::text[]) AND ${notExtensionMember("pg_catalog.pg_class", "c.oid")}
  UNION ALL
  SELECT 'column', n.nspname, c.relname, a.attname, NULL, NULL, NULL, 'pg_catalog.pg_class'::regclass, c.oid, a.attnum
  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('v', 'm', 'c') AND a.attnum > 0 AND NOT a.attisdropped AND n.nspname = ANY($1::text[])
    AND (c.relkind = 'c' OR ${relationWhere("c", "n")}) AND ${notExtensionMember("pg_catalog.pg_class", "c.oid")}
  UNION ALL
  SELECT 'constraint', n.nspname, c.relname, con.conname, NULL, NULL, NULL, 'pg_catalog.pg_constraint'::regclass, con.oid, 0
  FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_class c ON c.oid = con.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE con.contype IN ('p', 'u', 'c', 'x', 'f') AND c.relkind IN ('r', 'p') AND con.conparentid = 0 AND ${relationWhere("c", "n")}
  UNION ALL
  SELECT 'domain constraint', n.nspname, t.typname, con.conname, NULL, NULL, NULL, 'pg_catalog.pg_constraint'::regclass, con.oid, 0
  FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_type t ON t.oid = con.contypid JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
  WHERE ${typeWhere}
  UNION ALL
  SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, n.nspname, NULL, t.typname, NULL, NULL, NULL, 'pg_catalog.pg_type'::regclass, t.oid, 0
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
  WHERE ${typeWhere}
  UNION ALL
  SELECT ${routineKindSql}, n.nspname, NULL, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid), NULL, NULL, 'pg_catalog.pg_proc'::regclass, p.oid, 0
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  WHERE ${routineWhere}
  UNION ALL
  SELECT 'trigger', n.nspname, c.relname, t.tgname, NULL, NULL, NULL, 'pg_catalog.pg_trigger'::regclass, t.oid, 0
  FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND ${relationWhere("c", "n")}
  UNION ALL
  SELECT 'policy', n.nspname, c.relname, pol.polname, NULL, NULL, NULL, 'pg_catalog.pg_policy'::regclass, pol.oid, 0
  FROM pg_catalog.pg_policy pol JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE ${relationWhere("c", "n")}
  UNION ALL
  SELECT 'rule', n.nspname, c.relname, r.rulename, NULL, NULL, NULL, 'pg_catalog.pg_rewrite'::regclass, r.oid, 0
  FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE r.rulename <> '_RETURN' AND ${relationWhere("c", "n")}
  UNION ALL
  SELECT 'operator', n.nspname, NULL, o.oprname, NULL, CASE WHEN o.oprleft = 0 THEN 'NONE' ELSE pg_catalog.format_type(o.oprleft, NULL) END,
         pg_catalog.format_type(o.oprright, NULL), 'pg_catalog.pg_operator'::regclass, o.oid, 0
  FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
  WHERE n.nspname = ANY($1::text[]) AND ${notExtensionMember("pg_catalog.pg_operator", "o.oid")}
  UNION ALL
  SELECT 'schema', NULL, NULL, n.nspname, NULL, NULL, NULL, 'pg_catalog.pg_namespace'::regclass, n.oid, 0
  FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY($1::text[])
  UNION ALL
  SELECT 'extension', NULL, NULL, e.extname, NULL, NULL, NULL, 'pg_catalog.pg_extension'::regclass, e.oid, 0
  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
  WHERE e.extname <> 'plpgsql' AND n.nspname = ANY($1::text[])
) o
JOIN pg_catalog.pg_description d ON d.classoid = o.classoid AND d.objoid = o.objoid AND d.objsubid = o.objsubid
WHERE NOT (o.kind = 'schema' AND o.name = 'public' AND d.description = 'standard public schema')
  AND NOT (o.kind = 'extension' AND d.description IS NOT DISTINCT FROM (SELECT a.comment FROM pg_catalog.pg_available_extensions a WHERE a.name = o.name))`;

// ACLs exploded into one row per (grantee, privilege), the owner's own left out (owners differ between
// the shadow and a real database). A NULL ACL means the built-in one (acldefault): functions and types
// grant to PUBLIC by default, so their revocation shows. The public schema's ACL is read as it is
// (initdb gives PUBLIC USAGE on PostgreSQL 15+, USAGE and CREATE before).
const GRANTS_SQL = `
SELECT o.kind, o.schema, o.parent, o.name, o.arguments,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END AS grantee,
       a.privilege_type AS privilege, a.is_grantable AS grantable
FROM (
  SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'table' END AS kind,
         n.nspname AS schema, NULL::text AS parent, c.relname AS name, NULL::text AS arguments, c.relacl AS acl, c.relowner AS owner
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relacl IS NOT NULL AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND n.nspname = ANY($1::text[])
    AND (n.nspname, c.relname) NOT IN (SELECT x.s, x.t FROM unnest($2::text[], $3::text[]) AS x(s, t)) AND ${notExtensionMember("pg_catalog.pg_class", "c.oid")}
  UNION ALL
  SELECT 'column', n.nspname, c.relname, att.attname, NULL, att.attacl, c.relowner
  FROM pg_catalog.pg_attribute att JOIN pg_catalog.pg_class c ON c.oid = att.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE att.attacl IS NOT NULL AND att.attnum > 0 AND NOT att.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY($1::text[])
    AND (n.nspname, c.relname) NOT IN (SELECT x.s, x.t FROM unnest($2::text[], $3::text[]) AS x(s, t)) AND ${notExtensionMember("pg_catalog.pg_class", "c.oid")}
  UNION ALL
  SELECT ${routineKindSql}, n.nspname, NULL, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid),
         COALESCE(p.proacl, pg_catalog.acldefault('f', p.proowner)), p.proowner
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  WHERE ${routineWhere}
  UNION ALL
  SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, n.nspname, NULL, t.typname, NULL, COALESCE(t.typacl, pg_catalog.acldefault('T', t.typowner)), t.typowner
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
  WHERE ${typeWhere}
  UNION ALL
  SELECT 'schema', NULL, NULL, n.nspname, NULL, COALESCE(n.nspacl, pg_catalog.acldefault('n', n.nspowner)), n.nspowner
  FROM pg_catalog.pg_namespace n
  WHERE n.nspname = ANY($1::text[])
) o, LATERAL pg_catalog.aclexplode(o.acl) a
WHERE a.grantee <> o.owner`;

// ALTER DEFAULT PRIVILEGES entries. A database-wide entry replaces the built-in privileges (acldefault):
// what it adds is a grant, what it lacks of them a revocation. A schema's entry only adds. The entries of
// the role that reads (the one that runs the revisions) have no FOR ROLE.
const defaultAcl = `pg_catalog.acldefault(CASE d.defaclobjtype WHEN 'S' THEN 's' ELSE d.defaclobjtype END, d.defaclrole)`;
const DEFAULT_PRIVILEGES_SQL = `
SELECT CASE WHEN d.defaclrole = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN NULL
            ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(d.defaclrole)) END AS role,
       n.nspname AS schema, d.defaclobjtype AS objtype,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END AS grantee,
       a.privilege_type AS privilege, a.is_grantable AS grantable, a.revoked
FROM pg_catalog.pg_default_acl d
LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace,
LATERAL (
  SELECT x.grantee, x.privilege_type, x.is_grantable, false AS revoked FROM pg_catalog.aclexplode(d.defaclacl) x
  WHERE d.defaclnamespace <> 0 OR NOT EXISTS (SELECT 1 FROM pg_catalog.aclexplode(${defaultAcl}) b
                                              WHERE b.grantee = x.grantee AND b.privilege_type = x.privilege_type AND b.is_grantable = x.is_grantable)
  UNION ALL
  SELECT b.grantee, b.privilege_type, b.is_grantable, true FROM pg_catalog.aclexplode(${defaultAcl}) b
  WHERE d.defaclnamespace = 0 AND NOT EXISTS (SELECT 1 FROM pg_catalog.aclexplode(d.defaclacl) x
                                              WHERE x.grantee = b.grantee AND x.privilege_type = b.privilege_type AND x.is_grantable = b.is_grantable)
) a
WHERE (d.defaclnamespace = 0 OR n.nspname = ANY($1::text[])) AND a.grantee <> d.defaclrole`;

// What the model leaves out is listed by not-compared.ts (re-exported here for existing callers).
export { listUnmodelledObjects } from "./not-compared.js";
export type { UnmodelledObject } from "./not-compared.js";

interface RowSets {
  schemaRows: Row[];
  enumRows: Row[];
  sequenceRows: Row[];
  relationRows: Row[];
  columnRows: Row[];
  constraintRows: Row[];
  indexRows: Row[];
  extensionRows: Row[];
  routineRows: Row[];
  domainRows: Row[];
  compositeRows: Row[];
  triggerRows: Row[];
  policyRows: Row[];
  operatorRows: Row[];
  ruleRows: Row[];
  rangeRows: Row[];
  commentRows: Row[];
  grantRows: Row[];
  defaultPrivilegeRows: Row[];
}

interface TableBuilder {
  schema: string;
  name: string;
  comment: string | null;
  columns: { position: number; column: Column }[];
  primaryKey: Constraint | null;
  constraints: Constraint[];
  foreignKeys: ForeignKey[];
  indexes: Index[];
  unlogged: boolean;
  storage: string[];
  partitionBy: string | null;
  partitionOf: { schema: string; name: string; bound: string } | null;
  inherits: QualifiedName[];
  rowSecurity: boolean;
  forceRowSecurity: boolean;
  policies: Policy[];
}

interface ViewBuilder {
  materialized: boolean;
  indexes: Index[];
  schema: string;
  name: string;
  comment: string | null;
  definition: string;
  dependsOn: ViewDependency[];
  columns: { position: number; column: { name: string; type: string } }[];
}

function assemble(serverVersion: number, rows: RowSets): SchemaModel {
  const schemas = rows.schemaRows.map((r) => text(r["name"], "schema name")).sort(compareText);
  const enums: EnumType[] = rows.enumRows
    .map((r) => ({ schema: text(r["schema"], "schema"), name: text(r["name"], "name"), values: textList(r["labels"]) }))
    .sort(byQualifiedName);
  const sequences: Sequence[] = rows.sequenceRows
    .map((r) => ({
      schema: text(r["schema"], "schema"),
      name: text(r["name"], "name"),
      dataType: text(r["data_type"], "data_type"),
      start: numberText(r["start"]),
      increment: numberText(r["increment"]),
      minValue: numberText(r["min_value"]),
      maxValue: numberText(r["max_value"]),
      cache: numberText(r["cache"]),
      cycle: flag(r["cycle"]),
    }))
    .sort(byQualifiedName);

  const tables = new Map<string, TableBuilder>();
  const views = new Map<string, ViewBuilder>();
  for (const r of rows.relationRows) {
    const schema = text(r["schema"], "schema");
    const name = text(r["name"], "name");
    const comment = nullableText(r["comment"]);
    const relkind = text(r["kind"], "relkind");
    if (relkind === "v" || relkind === "m") {
      let definition = expressionText(text(r["view_definition"], "view definition"));
      // PostgreSQL ≤ 15 qualifies columns of single-relation views; 16+ does not (see unqualifySingleRelationView).
      if (serverVersion < 160000) definition = unqualifySingleRelationView(definition);
      const dependsOn = readDependencies(r["depends_on"]);
      views.set(objectKey(schema, name), { schema, name, comment, definition, dependsOn, columns: [], materialized: relkind === "m", indexes: [] });
    } else {
      tables.set(objectKey(schema, name), {
        schema,
        name,
        comment,
        columns: [],
        primaryKey: null,
        constraints: [],
        foreignKeys: [],
        indexes: [],
        unlogged: flag(r["unlogged"]),
        storage: textList(r["storage"]).sort(compareText),
        inherits: readPairs(r["inherits"]),
        rowSecurity: flag(r["row_security"]),
        forceRowSecurity: flag(r["force_row_security"]),
        policies: [],
        partitionBy: nullableText(r["partition_by"]),
        partitionOf: readPartitionOf(r["partition_of"]),
      });
    }
  }

  for (const r of rows.columnRows) {
    const key = objectKey(text(r["schema"], "schema"), text(r["relation"], "relation"));
    const position = Number(r["position"]);
    const name = text(r["name"], "column name");
    const type = text(r["type"], "column type");
    const view = views.get(key);
    if (view) {
      view.columns.push({ position, column: { name, type } });
      continue;
    }
    const table = tables.get(key);
    // A column inherited from a parent (and not declared by the child too) belongs to the parent; a partition's are its parent's.
    if (!table || !flag(r["local"]) || table.partitionOf !== null) continue;
    table.columns.push({ position, column: readColumn(r, name, type) });
  }

  for (const r of rows.constraintRows) {
    const table = tables.get(objectKey(text(r["schema"], "schema"), text(r["relation"], "relation")));
    if (!table || !flag(r["local"])) continue;
    const name = text(r["name"], "constraint name");
    const definition = expressionText(text(r["definition"], "constraint definition"));
    const kind = text(r["kind"], "contype");
    if (kind === "f") table.foreignKeys.push(readForeignKey(r, name, definition));
    else if (kind === "p") table.primaryKey = { kind: "primary-key", name, definition };
    else table.constraints.push({ kind: kind === "u" ? "unique" : kind === "c" ? "check" : "exclude", name, definition });
  }

  for (const r of rows.indexRows) {
    const key = objectKey(text(r["schema"], "schema"), text(r["relation"], "relation"));
    const table = tables.get(key) ?? views.get(key);
    if (!table) continue;
    const name = text(r["name"], "index name");
    const statistics = readTuples(r["statistics"]).map(([column, target]) => ({ column: Number(column), target: Number(target) }));
    table.indexes.push({ name, unique: flag(r["is_unique"]), definition: indexBody(expressionText(text(r["definition"], "index definition"))), statistics });
  }

  for (const r of rows.policyRows) {
    const table = tables.get(objectKey(text(r["schema"], "schema"), text(r["relation"], "relation")));
    if (!table) continue;
    const using = nullableText(r["using_expr"]);
    const withCheck = nullableText(r["check_expr"]);
    table.policies.push({
      name: text(r["name"], "policy name"),
      permissive: flag(r["permissive"]),
      command: policyCommands[text(r["command"], "polcmd")] ?? "ALL",
      roles: textList(r["roles"]).sort(compareText),
      using: using === null ? null : expressionText(using),
      withCheck: withCheck === null ? null : expressionText(withCheck),
    });
  }

  const byName = <T extends { name: string }>(a: T, b: T): number => compareText(a.name, b.name);
  const byPosition = <T extends { position: number }>(a: T, b: T): number => a.position - b.position;
  return {
    schemas,
    enums,
    sequences,
    tables: [...tables.values()]
      .map(
        (t): Table => ({
          schema: t.schema,
          name: t.name,
          columns: t.columns.sort(byPosition).map((c) => c.column),
          primaryKey: t.primaryKey,
          constraints: t.constraints.sort(byName),
          foreignKeys: t.foreignKeys.sort(byName),
          indexes: t.indexes.sort(byName),
          comment: t.comment,
          unlogged: t.unlogged,
          storage: t.storage,
          inherits: t.inherits,
          rowSecurity: t.rowSecurity,
          forceRowSecurity: t.forceRowSecurity,
          policies: t.policies.sort(byName),
          partitionBy: t.partitionBy,
          partitionOf: t.partitionOf,
        }),
      )
      .sort(byQualifiedName),
    views: [...views.values()]
      .map(
        (v): View => ({
          schema: v.schema,
          name: v.name,
          definition: v.definition,
          columns: v.columns.sort(byPosition).map((c) => c.column),
          dependsOn: v.dependsOn,
          comment: v.comment,
          materialized: v.materialized,
          indexes: v.indexes.sort(byName),
        }),
      )
      .sort(byQualifiedName),
    extensions: rows.extensionRows
      .map((r): Extension => ({ name: text(r["name"], "extension name"), schema: text(r["schema"], "schema"), version: text(r["version"], "extension version"), requires: textList(r["requires"]) }))
      .sort(byName),
    routines: rows.routineRows.map(readRoutine).sort((a, b) => byQualifiedName(a, b) || compareText(a.arguments, b.arguments)),
    domains: rows.domainRows.map(readDomain).sort(byQualifiedName),
    compositeTypes: rows.compositeRows
      .map(
        (r): CompositeType => ({
          schema: text(r["schema"], "schema"),
          name: text(r["name"], "type name"),
          attributes: readTuples(r["attributes"]).map(([name, type, collation]) => ({ name: name ?? "", type: type ?? "", collation: collation ?? null })),
        }),
      )
      .sort(byQualifiedName),
    rules: rows.ruleRows
      .map(
        (r): Rule => ({
          schema: text(r["schema"], "schema"),
          table: text(r["relation"], "relation"),
          name: text(r["name"], "rule name"),
          definition: normalizeWhitespace(text(r["definition"], "rule definition")).replace(/;$/, ""),
        }),
      )
      .sort((a, b) => compareText(objectKey(a.schema, a.table), objectKey(b.schema, b.table)) || compareText(a.name, b.name)),
    rangeTypes: rows.rangeRows
      .map((r): RangeType => ({ schema: text(r["schema"], "schema"), name: text(r["name"], "range type name"), definition: text(r["definition"], "range type definition") }))
      .sort(byQualifiedName),
    operators: rows.operatorRows
      .map(
        (r): Operator => ({
          schema: text(r["schema"], "schema"),
          name: text(r["name"], "operator name"),
          left: text(r["left_type"], "operator left type"),
          right: text(r["right_type"], "operator right type"),
          definition: text(r["definition"], "operator definition"),
        }),
      )
      .sort((a, b) => compareText(operatorKey(a), operatorKey(b))),
    triggers: rows.triggerRows
      .map(
        (r): Trigger => ({
          schema: text(r["schema"], "schema"),
          table: text(r["relation"], "relation"),
          name: text(r["name"], "trigger name"),
          definition: normalizeWhitespace(text(r["definition"], "trigger definition")),
        }),
      )
      .sort((a, b) => compareText(objectKey(a.schema, a.table), objectKey(b.schema, b.table)) || compareText(a.name, b.name)),
    comments: rows.commentRows
      .map((r): ObjectComment => ({ target: readRef(r), text: text(r["text"], "comment") }))
      .sort((a, b) => compareText(refKey(a.target), refKey(b.target))),
    grants: rows.grantRows
      .map((r): Grant => ({ object: readRef(r), grantee: text(r["grantee"], "grantee"), privilege: text(r["privilege"], "privilege"), grantable: flag(r["grantable"]) }))
      .sort((a, b) => compareText(grantKey(a), grantKey(b))),
    defaultPrivileges: rows.defaultPrivilegeRows
      .map(
        (r): DefaultPrivilege => ({
          role: nullableText(r["role"]),
          schema: nullableText(r["schema"]),
          objects: defaultPrivilegeObjects[text(r["objtype"], "defaclobjtype")] ?? "TABLES",
          grantee: text(r["grantee"], "grantee"),
          privilege: text(r["privilege"], "privilege"),
          grantable: flag(r["grantable"]),
          revoked: flag(r["revoked"]),
        }),
      )
      .sort((a, b) => compareText(defaultPrivilegeKey(a), defaultPrivilegeKey(b))),
  };
}

const defaultPrivilegeObjects: Record<string, DefaultPrivilegeObjects> = { r: "TABLES", S: "SEQUENCES", f: "FUNCTIONS", T: "TYPES", n: "SCHEMAS" };

/** An object reference from a row of COMMENTS_SQL or GRANTS_SQL (kind, schema, parent, name, arguments, left/right types). */
function readRef(r: Row): ObjectRef {
  const kind = text(r["kind"], "object kind");
  const name = text(r["name"], "object name");
  switch (kind) {
    case "schema":
    case "extension":
      return { kind, name };
    case "column":
      return { kind, schema: text(r["schema"], "schema"), table: text(r["parent"], "relation"), column: name };
    case "constraint":
    case "domain constraint":
    case "trigger":
    case "policy":
    case "rule":
      return { kind, schema: text(r["schema"], "schema"), table: text(r["parent"], "relation"), name };
    case "function":
    case "procedure":
    case "aggregate":
      return { kind, schema: text(r["schema"], "schema"), name, arguments: text(r["arguments"], "arguments") };
    case "operator":
      return { kind, schema: text(r["schema"], "schema"), name, left: text(r["left_type"], "left type"), right: text(r["right_type"], "right type") };
    case "table":
    case "view":
    case "materialized view":
    case "foreign table":
    case "index":
    case "sequence":
    case "type":
    case "domain":
      return { kind, schema: text(r["schema"], "schema"), name };
    default:
      throw new IntrospectionError(`the catalogue returned an unknown object kind "${kind}"`);
  }
}

const policyCommands: Record<string, string> = { "*": "ALL", r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE" };

const routineKinds: Record<string, Routine["kind"]> = { p: "procedure", a: "aggregate" };

function readRoutine(r: Row): Routine {
  return {
    schema: text(r["schema"], "schema"),
    name: text(r["name"], "routine name"),
    kind: routineKinds[text(r["kind"], "prokind")] ?? "function",
    arguments: text(r["arguments"], "routine arguments"),
    // The body is the author's text: only trailing whitespace (and line endings) are normalised.
    definition: text(r["definition"], "routine definition").replace(/\r\n/g, "\n").replace(/[ \t]+$/gm, "").trimEnd(),
    usesRelations: readPairs(r["uses_relations"]).sort(byQualifiedName),
  };
}

function readDomain(r: Row): Domain {
  const defaultExpression = nullableText(r["default_expr"]);
  return {
    schema: text(r["schema"], "schema"),
    name: text(r["name"], "domain name"),
    type: text(r["base_type"], "domain base type"),
    notNull: flag(r["not_null"]),
    default: defaultExpression === null ? null : expressionText(defaultExpression),
    collation: nullableText(r["collation"]),
    constraints: readTuples(r["constraints"]).map(([name, definition]) => ({ name: name ?? "", definition: expressionText(definition ?? "") })),
  };
}

/** `[schema, parent, bound]` of a partition, or null. */
function readPartitionOf(value: unknown): { schema: string; name: string; bound: string } | null {
  if (value === null || value === undefined) return null;
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value;
  if (!Array.isArray(parsed) || typeof parsed[0] !== "string" || typeof parsed[1] !== "string" || typeof parsed[2] !== "string")
    throw new IntrospectionError(`unexpected partition ${JSON.stringify(parsed)}`);
  return { schema: parsed[0], name: parsed[1], bound: normalizeWhitespace(parsed[2]) };
}

/** A json array of arrays of strings (or nulls). */
function readTuples(value: unknown): (string | null)[][] {
  if (value === null || value === undefined) return [];
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value;
  if (!Array.isArray(parsed)) throw new IntrospectionError("the catalog returned a list that is not an array");
  return parsed.map((entry) => {
    if (!Array.isArray(entry)) throw new IntrospectionError(`unexpected catalog entry ${JSON.stringify(entry)}`);
    return entry.map((item) => (typeof item === "string" ? item : null));
  });
}

/** `[[schema, name], ...]` → qualified names, in the catalog's order. */
function readPairs(value: unknown): QualifiedName[] {
  return readTuples(value).map(([schema, name]) => ({ schema: schema ?? "", name: name ?? "" }));
}

/** Deparsed text as the model keeps it: whitespace collapsed, array casts in their round-trip form. */
function expressionText(deparsed: string): string {
  return normalizeArrayCasts(normalizeWhitespace(deparsed));
}

const serialTypes: Record<string, string> = { smallint: "smallserial", integer: "serial", bigint: "bigserial" };

function readColumn(r: Row, name: string, type: string): Column {
  const identityCode = nullableText(r["identity"]) ?? "";
  const generatedCode = nullableText(r["generated"]) ?? "";
  const defaultExpression = nullableText(r["default_expr"]);
  const ownedSequence = nullableText(r["owned_sequence"]);
  // quote_literal of the sequence's (qualified, quoted-where-needed) name, as pg_get_expr prints it.
  const isSerial = ownedSequence !== null && defaultExpression === `nextval('${ownedSequence.replace(/'/g, "''")}'::regclass)`;
  const serialType = isSerial ? serialTypes[type] : undefined;
  let columnDefault: string | null = defaultExpression === null ? null : expressionText(defaultExpression);
  let generated: Column["generated"] = null;
  if (generatedCode === "s" || generatedCode === "v") {
    generated = { kind: generatedCode === "s" ? "stored" : "virtual", expression: columnDefault ?? "" };
    columnDefault = null;
  }
  if (serialType !== undefined) columnDefault = null;
  return {
    name,
    type: serialType ?? type,
    notNull: flag(r["not_null"]),
    default: columnDefault,
    identity: identityCode === "a" ? "always" : identityCode === "d" ? "by default" : null,
    sequence: serialType !== undefined ? nullableText(r["owned_sequence_name"]) : null,
    sequenceOptions: serialType !== undefined ? ownedSequenceOptions(r, serialType) : null,
    statistics: nullableText(r["statistics"]) === null ? null : Number(r["statistics"]),
    generated,
    collation: nullableText(r["collation"]),
    comment: nullableText(r["comment"]),
  };
}

/** A serial column's sequence options, or null when they are those `serial` gives (see serialSequenceDefaults). */
function ownedSequenceOptions(r: Row, serialType: string): SerialSequenceOptions | null {
  const [dataType, start, increment, minValue, maxValue, cache, cycle, unlogged] = readTuples(r["sequence_options"])[0] ?? [];
  const options: SerialSequenceOptions = {
    dataType: dataType ?? "",
    start: start ?? "",
    increment: increment ?? "",
    minValue: minValue ?? "",
    maxValue: maxValue ?? "",
    cache: cache ?? "",
    cycle: cycle === "true",
    unlogged: unlogged === "true",
  };
  const defaults = serialSequenceDefaults(serialType, flag(r["relation_unlogged"]));
  return defaults !== null && sameSerialSequence(options, defaults) ? null : options;
}

const actions: Record<string, ForeignKeyAction> = { a: "no action", r: "restrict", c: "cascade", n: "set null", d: "set default" };
const matches: Record<string, ForeignKey["match"]> = { s: "simple", f: "full", p: "partial" };

function readForeignKey(r: Row, name: string, definition: string): ForeignKey {
  return {
    name,
    columns: textList(r["columns"]),
    references: { schema: text(r["ref_schema"], "referenced schema"), table: text(r["ref_table"], "referenced table"), columns: textList(r["ref_columns"]) },
    onUpdate: actions[text(r["on_update"], "confupdtype")] ?? "no action",
    onDelete: actions[text(r["on_delete"], "confdeltype")] ?? "no action",
    match: matches[text(r["match"], "confmatchtype")] ?? "simple",
    deferrable: flag(r["deferrable"]),
    initiallyDeferred: flag(r["deferred"]),
    definition,
  };
}

/**
 * `CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING ...` → `USING ...`. Index and
 * table names are printed by the server with quote_ident, so the first ` USING ` after
 * ` ON ` that is outside a quoted name starts the body.
 */
export function indexBody(definition: string): string {
  let inQuotes = false;
  let seenOn = false;
  for (let i = 0; i < definition.length; i++) {
    const ch = definition[i];
    if (ch === '"') inQuotes = !inQuotes;
    if (inQuotes) continue;
    if (!seenOn && definition.startsWith(" ON ", i)) seenOn = true;
    else if (seenOn && definition.startsWith(" USING ", i)) return definition.slice(i + 1);
  }
  return definition;
}

function byQualifiedName(a: QualifiedName, b: QualifiedName): number {
  return compareText(a.schema, b.schema) || compareText(a.name, b.name);
}

/** `[[schema, relation, column | null], ...]` (one entry per column used) → one dependency per relation. */
function readDependencies(value: unknown): ViewDependency[] {
  if (value === null || value === undefined) return [];
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value;
  if (!Array.isArray(parsed)) throw new IntrospectionError("the catalog returned view dependencies that are not an array");
  const byRelation = new Map<string, { schema: string; name: string; columns: Set<string> }>();
  for (const entry of parsed) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string" || typeof entry[1] !== "string")
      throw new IntrospectionError(`unexpected view dependency ${JSON.stringify(entry)}`);
    const key = objectKey(entry[0], entry[1]);
    const relation = byRelation.get(key) ?? { schema: entry[0], name: entry[1], columns: new Set<string>() };
    if (typeof entry[2] === "string") relation.columns.add(entry[2]);
    byRelation.set(key, relation);
  }
  return [...byRelation.values()]
    .map((d) => ({ schema: d.schema, name: d.name, columns: [...d.columns].sort(compareText) }))
    .sort(byQualifiedName);
}

function text(value: unknown, what: string): string {
  if (typeof value === "string") return value;
  throw new IntrospectionError(`the catalog returned no ${what}`);
}

function nullableText(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function numberText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  throw new IntrospectionError("the catalog returned a sequence parameter that is not a number");
}

function flag(value: unknown): boolean {
  return value === true || value === "t" || value === "true";
}

/** A json array of strings, parsed by the driver or still text. */
function textList(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value;
  if (!Array.isArray(parsed)) throw new IntrospectionError("the catalog returned a list that is not an array");
  return parsed.map((item) => (typeof item === "string" ? item : String(item)));
}
