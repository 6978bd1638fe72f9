import { describe, expect, test } from "vitest";
import { normalizeArrayCasts, normalizeWhitespace, printIdentifier, unqualifySingleRelationView } from "./sql-text.js";

describe("normalizeWhitespace", () => {
  test.each([
    [" SELECT t.id,\n    t.name\n   FROM public.t;", "SELECT t.id, t.name FROM public.t"],
    ["SELECT 'a  b'  ,\"x  y\"", "SELECT 'a  b' ,\"x  y\""],
    ["CHECK ((price > (0)::numeric))", "CHECK ((price > (0)::numeric))"],
  ])("%j", (input, expected) => {
    expect(normalizeWhitespace(input)).toBe(expected);
  });
});

const viewCases: [name: string, pg15: string, pg18: string][] = [
  ["single table", "SELECT t.id, t.name FROM public.t WHERE t.price > 10::numeric", "SELECT id, name FROM public.t WHERE price > 10::numeric"],
  ["alias", "SELECT x.id, x.name AS nm FROM public.t x WHERE x.price > 10::numeric ORDER BY x.name", "SELECT id, name AS nm FROM public.t x WHERE price > 10::numeric ORDER BY name"],
  [
    "scalar subquery keeps its qualifiers",
    "SELECT t.id, ( SELECT count(*) AS count FROM public.u WHERE u.t_id = t.id) AS n FROM public.t",
    "SELECT id, ( SELECT count(*) AS count FROM public.u WHERE u.t_id = t.id) AS n FROM public.t",
  ],
  [
    "EXISTS and a string that looks like a name",
    "SELECT t.id FROM public.t WHERE (EXISTS ( SELECT 1 FROM public.u WHERE u.t_id = t.id AND u.email ~~ '%t.id%'::text))",
    "SELECT id FROM public.t WHERE (EXISTS ( SELECT 1 FROM public.u WHERE u.t_id = t.id AND u.email ~~ '%t.id%'::text))",
  ],
  ["union is the same on both", "SELECT t.id FROM public.t UNION SELECT u.id FROM public.u", "SELECT t.id FROM public.t UNION SELECT u.id FROM public.u"],
  [
    "CTE body keeps its qualifiers",
    "WITH c AS ( SELECT u.t_id, count(*) AS n FROM public.u GROUP BY u.t_id ) SELECT c.t_id, c.n FROM c WHERE c.n > 1",
    "WITH c AS ( SELECT u.t_id, count(*) AS n FROM public.u GROUP BY u.t_id ) SELECT t_id, n FROM c WHERE n > 1",
  ],
  ["subquery in FROM", "SELECT s.a FROM ( SELECT t.id AS a FROM public.t) s", "SELECT a FROM ( SELECT t.id AS a FROM public.t) s"],
  ["function in FROM", "SELECT g.i FROM generate_series(1, 10) g(i)", "SELECT i FROM generate_series(1, 10) g(i)"],
  ["two relations", "SELECT t.id, u.email FROM public.t, public.u WHERE u.t_id = t.id", "SELECT t.id, u.email FROM public.t, public.u WHERE u.t_id = t.id"],
  [
    "window, cast, CASE",
    "SELECT t.id, sum(t.price) OVER (PARTITION BY t.name ORDER BY t.id) AS running, lower(t.name)::character varying(10) AS l, CASE WHEN t.price > 1::numeric THEN 'a'::text ELSE 'b'::text END AS c FROM public.t",
    "SELECT id, sum(price) OVER (PARTITION BY name ORDER BY id) AS running, lower(name)::character varying(10) AS l, CASE WHEN price > 1::numeric THEN 'a'::text ELSE 'b'::text END AS c FROM public.t",
  ],
  ["DISTINCT ON", "SELECT DISTINCT ON (t.name) t.name, t.id FROM public.t ORDER BY t.name, t.id DESC", "SELECT DISTINCT ON (name) name, id FROM public.t ORDER BY name, id DESC"],
  [
    "IN subquery",
    "SELECT t.id, t.name FROM public.t WHERE (t.id IN ( SELECT u.t_id FROM public.u))",
    "SELECT id, name FROM public.t WHERE (id IN ( SELECT u.t_id FROM public.u))",
  ],
  ["view of a view", "SELECT v1.id, v1.name FROM public.v1", "SELECT id, name FROM public.v1"],
  ["join", "SELECT v.id FROM public.v1 v JOIN public.t USING (id)", "SELECT v.id FROM public.v1 v JOIN public.t USING (id)"],
  ["no FROM", "SELECT 1 AS one", "SELECT 1 AS one"],
  ["VALUES", "VALUES (1,'a'::text), (2,'b'::text)", "VALUES (1,'a'::text), (2,'b'::text)"],
  ["quoted names", 'SELECT "My T".id, "My T"."Col" FROM public."My T"', 'SELECT id, "Col" FROM public."My T"'],
  ["schema-qualified function and type survive", "SELECT t.id, public.f(t.id)::public.mood AS m FROM public.t", "SELECT id, public.f(id)::public.mood AS m FROM public.t"],
];

describe("unqualifySingleRelationView (PostgreSQL 15 → 16+ deparse)", () => {
  test.each(viewCases)("%s", (_name, pg15, pg18) => {
    expect(unqualifySingleRelationView(pg15)).toBe(pg18);
    expect(unqualifySingleRelationView(pg18)).toBe(pg18);
  });
});

describe("printIdentifier", () => {
  test.each([
    ["users", "users"],
    ["Users", '"Users"'],
    ["user", '"user"'],
    ["a b", '"a b"'],
    ['q"x', '"q""x"'],
    ["_x1$", "_x1$"],
  ])("%s → %s", (name, printed) => {
    expect(printIdentifier(name)).toBe(printed);
  });
});

describe("normalizeArrayCasts (print → parse → print fixed point)", () => {
  test.each([
    [
      "CHECK (t2::text = ANY (ARRAY['A'::character varying, 'B'::character varying, 'X'::character varying]::text[]))",
      "CHECK (t2::text = ANY (ARRAY['A'::character varying::text, 'B'::character varying::text, 'X'::character varying::text]))",
    ],
    [
      "CREATE INDEX i1 ON public.t USING btree (id) WHERE ((t2)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))",
      "CREATE INDEX i1 ON public.t USING btree (id) WHERE ((t2)::text = ANY (ARRAY[('a'::character varying)::text, ('b'::character varying)::text]))",
    ],
    ["ARRAY[1::numeric, '-2'::numeric(5,2)]::double precision[]", "ARRAY[1::numeric::double precision, '-2'::numeric(5,2)::double precision]"],
  ])("%s", (printed, roundTripped) => {
    expect(normalizeArrayCasts(printed)).toBe(roundTripped);
    expect(normalizeArrayCasts(roundTripped)).toBe(roundTripped);
  });

  test.each([
    "CHECK (m = ANY (ARRAY['a'::mood, 'b'::mood]))",
    "CHECK (n = ANY (ARRAY[1::numeric, 2.5]))",
    "ARRAY[a, b]::text[]",
    "ARRAY[(x + 1)::text]::varchar[]",
    "'{a,b}'::text[]",
    "SELECT 'ARRAY[''a''::x]::text[]' AS s",
  ])("leaves %s alone", (text) => {
    expect(normalizeArrayCasts(text)).toBe(text);
  });
});
