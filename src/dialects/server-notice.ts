/**
 * The server's notices (NoticeResponse) as athanor hands them on: both drivers parse them
 * into the same protocol message shape (pg-protocol's NoticeMessage, and PGlite's copy of it).
 */
import type { ServerNotice } from "./types.js";

/** The fields of a parsed NoticeResponse that athanor reads: a {@link ServerNotice}'s, each possibly missing. */
export type NoticeMessageLike = { readonly [Field in keyof ServerNotice]?: ServerNotice[Field] | undefined };

/** A parsed NoticeResponse as a {@link ServerNotice}. Pure. */
export function serverNotice(message: NoticeMessageLike): ServerNotice {
  return {
    severity: message.severity ?? "NOTICE",
    message: message.message ?? "",
    ...(message.code === undefined ? {} : { code: message.code }),
    ...(message.detail === undefined ? {} : { detail: message.detail }),
    ...(message.hint === undefined ? {} : { hint: message.hint }),
  };
}
