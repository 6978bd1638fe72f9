/**
 * A large Rails-style `db/structure.sql`, generated deterministically (no randomness, no
 * clock): what `rails db:schema:dump` with `schema_format = :sql` writes through pg_dump —
 * pg_dump's SET preamble and empty search path, `CREATE EXTENSION IF NOT EXISTS`, enums,
 * plpgsql functions and their triggers, tables with `bigint` ids whose sequences are made
 * separately and attached (`OWNED BY`, `ALTER COLUMN id SET DEFAULT nextval(...)`),
 * `ALTER TABLE ONLY ... ADD CONSTRAINT ... PRIMARY KEY`, unique, partial and expression
 * indexes, foreign keys added at the end, a few views, comments, and Rails'
 * `schema_migrations` / `ar_internal_metadata` tables.
 *
 * Used by test/autogenerate-large-schema.test.ts and bench/autogenerate.mjs
 * (`--schema structure1000`). Plain JavaScript so that both load it without a build.
 */

/**
 * @param {number} tables how many application tables (Rails' two tables come on top)
 * @returns {string} the structure.sql text
 */
export function generateStructureSql(tables) {
  const out = [];
  out.push(`SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: pg_trgm; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE TYPE public.state AS ENUM (
    'draft',
    'active',
    'archived'
);

CREATE FUNCTION public.touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;

CREATE FUNCTION public.normalize_email(value text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT lower(trim(value)) $$;

SET default_tablespace = '';

SET default_table_access_method = heap;

CREATE TABLE public.ar_internal_metadata (
    key character varying NOT NULL,
    value character varying,
    created_at timestamp(6) without time zone NOT NULL,
    updated_at timestamp(6) without time zone NOT NULL
);

CREATE TABLE public.schema_migrations (
    version character varying NOT NULL
);
`);
  for (let i = 1; i <= tables; i++) {
    const name = tableName(i);
    // Every fourth table has a state column, every fifth an email, every tenth a text search column.
    const columns = [
      "    id bigint NOT NULL",
      i > 1 ? `    ${tableName(i - 1).replace(/s$/, "")}_id bigint NOT NULL` : null,
      "    name character varying(255) NOT NULL",
      "    description text",
      i % 4 === 0 ? "    state public.state DEFAULT 'draft'::public.state NOT NULL" : null,
      i % 5 === 0 ? "    email character varying" : null,
      "    position integer DEFAULT 0 NOT NULL",
      "    amount numeric(12,2) DEFAULT 0.0 NOT NULL",
      "    settings jsonb DEFAULT '{}'::jsonb NOT NULL",
      "    tags character varying[] DEFAULT '{}'::character varying[] NOT NULL",
      i % 10 === 0 ? "    search_vector tsvector" : null,
      "    created_at timestamp(6) without time zone NOT NULL",
      "    updated_at timestamp(6) without time zone NOT NULL",
      i % 3 === 0 ? "    CONSTRAINT check_" + name + "_position CHECK ((\"position\" >= 0))" : null,
    ].filter((c) => c !== null);
    out.push(`CREATE TABLE public.${name} (
${columns.join(",\n")}
);
`);
    if (i % 7 === 0) out.push(`COMMENT ON TABLE public.${name} IS 'Generated table ${i}';\n`);
    out.push(`CREATE SEQUENCE public.${name}_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.${name}_id_seq OWNED BY public.${name}.id;
`);
  }
  if (tables >= 10)
    out.push(`CREATE VIEW public.active_${tableName(4)} AS
 SELECT ${tableName(4)}.id,
    ${tableName(4)}.name
   FROM public.${tableName(4)}
  WHERE (${tableName(4)}.state = 'active'::public.state);

CREATE MATERIALIZED VIEW public.${tableName(1)}_totals AS
 SELECT ${tableName(1)}.name,
    sum(${tableName(1)}.amount) AS amount
   FROM public.${tableName(1)}
  GROUP BY ${tableName(1)}.name
  WITH NO DATA;
`);
  for (let i = 1; i <= tables; i++) out.push(`ALTER TABLE ONLY public.${tableName(i)} ALTER COLUMN id SET DEFAULT nextval('public.${tableName(i)}_id_seq'::regclass);\n`);
  out.push(`
ALTER TABLE ONLY public.ar_internal_metadata
    ADD CONSTRAINT ar_internal_metadata_pkey PRIMARY KEY (key);

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);
`);
  for (let i = 1; i <= tables; i++) out.push(`ALTER TABLE ONLY public.${tableName(i)}\n    ADD CONSTRAINT ${tableName(i)}_pkey PRIMARY KEY (id);\n`);
  for (let i = 1; i <= tables; i++) {
    const name = tableName(i);
    out.push(`CREATE INDEX index_${name}_on_created_at ON public.${name} USING btree (created_at);\n`);
    if (i > 1) out.push(`CREATE INDEX index_${name}_on_${tableName(i - 1).replace(/s$/, "")}_id ON public.${name} USING btree (${tableName(i - 1).replace(/s$/, "")}_id);\n`);
    if (i % 5 === 0) out.push(`CREATE UNIQUE INDEX index_${name}_on_lower_email ON public.${name} USING btree (public.normalize_email((email)::text)) WHERE (email IS NOT NULL);\n`);
    if (i % 10 === 0) out.push(`CREATE INDEX index_${name}_on_name_trgm ON public.${name} USING gin (name public.gin_trgm_ops);\n`);
    if (i % 4 === 0) out.push(`CREATE INDEX index_${name}_on_state ON public.${name} USING btree (state) WHERE (state <> 'archived'::public.state);\n`);
    if (i % 6 === 0) out.push(`CREATE TRIGGER ${name}_touch BEFORE UPDATE ON public.${name} FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();\n`);
  }
  for (let i = 2; i <= tables; i++) {
    const name = tableName(i);
    const parent = tableName(i - 1);
    out.push(`ALTER TABLE ONLY public.${name}
    ADD CONSTRAINT fk_rails_${hex(i)} FOREIGN KEY (${parent.replace(/s$/, "")}_id) REFERENCES public.${parent}(id)${i % 2 === 0 ? " ON DELETE CASCADE" : ""};
`);
  }
  out.push(`
SET search_path TO "$user", public;

INSERT INTO "schema_migrations" (version) VALUES
('20240101000000');
`);
  return out.join("\n");
}

/** `accounts_0001`-style names, plural like Rails' (`_id` columns drop the final s). */
function tableName(i) {
  return `records_${String(i).padStart(4, "0")}s`;
}

/** A stable 10-hex-digit suffix, like Rails' `fk_rails_<hash>` names. */
function hex(i) {
  let h = 2166136261;
  for (const ch of `fk${i}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return (h.toString(16).padStart(8, "0") + (i % 256).toString(16).padStart(2, "0")).slice(0, 10);
}
