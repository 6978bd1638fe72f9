/**
 * athanor reads revisions as PostgreSQL does with `standard_conforming_strings = on` (the
 * server's default since 9.1): the refusal of COMMIT/BEGIN/ROLLBACK in a transactional
 * revision, `unterminated-sql`, the statement splitter. With it off a backslash escapes a
 * quote in a '...' literal, and the server reads `'a\'; COMMIT; --'` as a string and a
 * COMMIT that athanor's checks saw inside a string: a revision would commit half-way,
 * unrecorded, and run again. So a run refuses a session with the setting off before
 * anything runs, and stops a revision that turns it off before athanor sends a statement
 * the server would read otherwise. athanor never turns it on itself: that would change
 * what the backslashes of a revision written for it off mean, behind the user's back.
 */
import type { Session } from "../dialects/types.js";
import { quoteIdent } from "../dialects/sql.js";
import { ConfigError, RevisionError } from "../errors.js";
import type { RevisionFile } from "../revisions/types.js";
import { mayChangeSession } from "./session-state.js";

const SETTING = "standard_conforming_strings";

/**
 * The setting's value now: as the server last reported it (no round trip), or read where
 * the driver is not told (PGlite, which runs in this process).
 */
async function currentValue(session: Session): Promise<string> {
  const reported = session.reportedSetting?.(SETTING);
  if (reported !== undefined) return reported;
  const result = await session.query<{ value: string }>(`SELECT current_setting('${SETTING}') AS value`);
  return String(result.rows[0]?.value);
}

/**
 * The first statement of an offline script (`--sql`): psql, which reads the script as the
 * server does, stops there (`ON_ERROR_STOP`) on a session with the setting off, before
 * anything runs. Dollar-quoted, so both settings read it alike.
 */
export const OFFLINE_STANDARD_STRINGS_CHECK =
  `DO $$ BEGIN IF current_setting('${SETTING}') <> 'on' THEN RAISE EXCEPTION '${SETTING} is off on this session: athanor checked the revisions of this script as PostgreSQL reads them with it on, and the server would read a backslash before a quote otherwise. Nothing was run' ` +
  `USING HINT = 'Turn it on where it is set (ALTER DATABASE ... SET ${SETTING} = on, ALTER ROLE ... SET, the options of the connection or PGOPTIONS), or run the script on a session with it on.'; END IF; END $$;`;

/** Where the session's value comes from (`pg_settings.source`), and who and where it is, for the fix. */
export interface SettingOrigin {
  readonly source: string;
  readonly database: string;
  readonly role: string;
}

/**
 * Refuses a session on which the server reads string literals otherwise than athanor
 * does. Free on PostgreSQL (the value the server reported when the connection started);
 * one in-process query on PGlite. Only a refusal reads where the value came from.
 * @param server `host:port/database` or the PGlite directory, for the message
 * @throws ConfigError (exit 2) `standard-conforming-strings-off`
 */
export async function assertStandardStrings(session: Session, server: string): Promise<void> {
  if ((await currentValue(session)) === "on") return;
  const origin = await session
    .query<{ source: string; database: string; role: string }>(`SELECT source, current_database()::text AS database, session_user::text AS role FROM pg_catalog.pg_settings WHERE name = '${SETTING}'`)
    .then((result) => result.rows[0] ?? null)
    .catch(() => null);
  throw standardStringsOff(server, origin);
}

/** The refusal of a session with the setting off: what it is, where it comes from, how to turn it on. Pure. */
export function standardStringsOff(server: string, origin: SettingOrigin | null): ConfigError {
  const database = quoteIdent(origin?.database ?? "<database>");
  const role = quoteIdent(origin?.role ?? "<role>");
  const onDatabase = `ALTER DATABASE ${database} SET ${SETTING} = on`;
  const fixes: Record<string, string> = {
    database: `It is the database's default: turn it on with ${onDatabase}`,
    user: `It is the role's default: turn it on with ALTER ROLE ${role} SET ${SETTING} = on (or ALTER ROLE ${role} RESET ${SETTING})`,
    "database user": `It is the role's default in this database: turn it on with ALTER ROLE ${role} IN DATABASE ${database} SET ${SETTING} = on`,
    client: `The connection asked for it: remove \`-c ${SETTING}=off\` from the URL's \`options\` parameter or from PGOPTIONS`,
    session: `The session was given it with SET before athanor used it: pass a session without it`,
  };
  const fix =
    (origin !== null ? fixes[origin.source] : undefined) ??
    `It may come from the database (${onDatabase}), the role (ALTER ROLE ... SET), the URL's \`options\` or PGOPTIONS (\`-c ${SETTING}=off\`), or the server's configuration${origin === null ? "" : ` (pg_settings.source: ${origin.source})`}`;
  return new ConfigError(
    "standard-conforming-strings-off",
    `the migration session on ${server} runs with ${SETTING} = off: the server would read a backslash before a quote in a '...' literal otherwise than athanor, which checks and splits revisions as PostgreSQL does with it on (a COMMIT athanor sees inside a string would run). Nothing was run, nothing was recorded, and the lock was released`,
    {
      hint: `${fix}. First check the revisions still to run for a backslash in a '...' literal that is meant as an escape, and write those E'...'. athanor does not turn it on itself: that would silently change what such a revision means.`,
      details: { server, setting: SETTING, value: "off", ...(origin === null ? {} : { source: origin.source }) },
    },
  );
}

/**
 * Watches the setting while a revision is driven statement by statement (a TypeScript
 * revision, a `transaction false` one, `echo`): each statement is a round trip of its
 * own, which the server reads with the value the one before left, so a revision that
 * turns the setting off would have its next statements read otherwise than athanor
 * checked them. A revision sent whole is read with the value its round trip began with,
 * and the session is put back after it (src/run/session-state.ts); the check before each
 * round trip catches a change nothing there undid (a function that calls `set_config`).
 */
export class StandardStringsWatch {
  /** Where the driver does not report the setting: a statement ran that may have changed it. */
  private unsure = false;

  constructor(private readonly session: Session) {}

  /** After a statement of a driven revision was sent (whether it succeeded or not). */
  sent(sql: string): void {
    if (this.session.reportedSetting?.(SETTING) === undefined && mayChangeSession(sql)) this.unsure = true;
  }

  /**
   * Before a statement, a round trip or the record of `revision` is sent: refuses it when
   * the server would read it with the setting off. No round trip on PostgreSQL; on PGlite one
   * in-process query, only after a statement that may have changed the session.
   * @param outcome what became of the revision, for the message (`rolled back entirely`...); built only when refusing
   * @throws RevisionError (exit 2) `standard-conforming-strings-changed`
   */
  async beforeSend(revision: RevisionFile, outcome: () => string): Promise<void> {
    if (this.session.reportedSetting?.(SETTING) === undefined && !this.unsure) return;
    if ((await currentValue(this.session)) === "on") {
      this.unsure = false;
      return;
    }
    throw new RevisionError(
      "standard-conforming-strings-changed",
      `${SETTING} was turned off on the migration session (by revision ${revision.id} or one before it, with SET, set_config or a function that calls it), so the server would read what athanor sends next for revision ${revision.id} (${revision.relativePath}) otherwise than athanor checked it; athanor stopped before sending it. ${outcome()}`,
      {
        hint: `Remove the change of ${SETTING} from the revision: athanor checks revisions as PostgreSQL reads them with it on. A literal that needs a backslash escape can be written E'...' with the setting on.`,
        details: { revision: revision.id, file: revision.relativePath, setting: SETTING },
      },
    );
  }
}
