/**
 * A `${VAR}` value substituted into a URL template is read back by libpq's own
 * `PQconninfoParse` (test/support/libpq-parse.py) as that one component's value, whatever
 * it holds: the host, port and every other option stay those of the template.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { expandTemplate, type VariableValue } from "../src/config/expand.js";

const HOSTILE = ["Xy7&kQ9!zz", "pw&host=127.0.0.2&port=5599&application_name=SECRETTAIL", "u1?host=127.0.0.2&port=5599", "a#b/c@d:e%25f=g+h i", "%zz%00", "é€"];

/** Template, the variable in it, and the libpq option that must hold its value. */
const TEMPLATES: readonly (readonly [template: string, option: string])[] = [
  ["postgresql://app@127.0.0.1:5576/u1?password=${V}", "password"],
  ["postgresql://app:${V}@127.0.0.1:5576/u1", "password"],
  ["postgresql://${V}:pw@127.0.0.1:5576/u1", "user"],
  ["postgresql://postgres:pw@127.0.0.1:5576/${V}", "dbname"],
  ["postgresql://postgres:pw@127.0.0.1:5576/u1?application_name=${V}&sslmode=disable", "application_name"],
];

function libpqParse(urls: readonly string[]): ({ values: Record<string, string> } | { error: string })[] {
  const script = fileURLToPath(new URL("./support/libpq-parse.py", import.meta.url));
  return (JSON.parse(execFileSync("python3", [script], { input: JSON.stringify(urls), encoding: "utf8" })) as { results: ({ values: Record<string, string> } | { error: string })[] }).results;
}

const expand = (template: string, value: string) =>
  expandTemplate(template, {
    lookup: (name): VariableValue | undefined => (name === "V" ? { value, source: { kind: "process-env", variable: name }, expand: false } : undefined),
    environment: "testing",
    where: "environments.testing.url",
  }).value;

describe("a substituted value is one component's value to libpq", () => {
  const cases = TEMPLATES.flatMap(([template, option]) => HOSTILE.map((value) => ({ template, option, value, url: expand(template, value) })));
  const results = libpqParse(cases.map((entry) => entry.url));

  it.each(cases.map((entry, index) => [entry.template, entry.value, index] as const))("%s with %s", (_template, _value, index) => {
    const entry = cases[index];
    const result = results[index];
    if (entry === undefined || result === undefined) throw new Error("no case");
    if ("error" in result) throw new Error(`libpq refuses ${entry.url}: ${result.error}`);
    expect(result.values[entry.option]).toBe(entry.value);
    expect(result.values["host"]).toBe("127.0.0.1");
    expect(result.values["port"]).toBe("5576");
    const expected = new Set(["host", "port", "user", "password", "dbname", entry.option, ...(entry.template.includes("sslmode") ? ["sslmode"] : [])]);
    for (const key of Object.keys(result.values)) expect(expected.has(key), `libpq option ${key}`).toBe(true);
  });
});
