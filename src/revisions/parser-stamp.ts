/**
 * The SHA-256 of the header parser's modules (header-cache.ts, HEADER_PARSER_MODULES), part
 * of the header cache's key. Undefined here, in the source: `npm run build` writes the
 * hash into dist/revisions/parser-stamp.js after tsc (scripts/build-cli.mjs,
 * `stampHeaderParser`), before the CLI is bundled, so the library and the CLI read the same
 * value. A bare `tsc` writes this undefined back, and the cache is then keyed by the
 * modules' stats instead: never by a stamp of other code.
 */
export const HEADER_PARSER_STAMP: string | undefined = undefined;
