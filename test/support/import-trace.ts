/**
 * An ES module loader hook for tests that check what a spawned CLI loads: every URL
 * resolved through `import` (matching `pattern`) is appended, one a line, to the file
 * named by the child's IMPORT_TRACE variable. Run the child with `--import <register>`.
 * (athanor's own modules are inside the CLI bundle: ATHANOR_DEBUG_MODULES lists those.)
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Writes the hook into `dir`; returns the path of the module to pass to `--import`. */
export async function writeImportTraceHook(dir: string, pattern: RegExp = /./): Promise<string> {
  await writeFile(join(dir, "import-trace-hooks.mjs"), [
    'import { appendFileSync } from "node:fs";',
    `const pattern = new RegExp(${JSON.stringify(pattern.source)});`,
    "export async function resolve(specifier, context, next) {",
    "  const result = await next(specifier, context);",
    '  if (pattern.test(result.url)) appendFileSync(process.env.IMPORT_TRACE, result.url + "\\n");',
    "  return result;",
    "}",
  ].join("\n"));
  const register = join(dir, "import-trace-register.mjs");
  await writeFile(register, 'import { register } from "node:module";\nregister("./import-trace-hooks.mjs", import.meta.url);\n');
  return register;
}
