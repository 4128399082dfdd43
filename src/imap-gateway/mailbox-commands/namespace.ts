// NAMESPACE (RFC 2342): one personal namespace with an empty prefix and "/" as the hierarchy
// delimiter, and the other users' namespace "Shared/" where mailboxes others shared with the user
// (RFC 4314 ACL) appear as Shared/<owner>/<name>; no shared (public) namespace.
import { MAILBOX_HIERARCHY_SEPARATOR } from "../../events/domain/common.ts";
import { SHARED_PREFIX } from "../mail/sharedNamespace.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../module.ts";

export const NAMESPACE_RESPONSE = `NAMESPACE (("" "${MAILBOX_HIERARCHY_SEPARATOR}")) (("${SHARED_PREFIX}" "${MAILBOX_HIERARCHY_SEPARATOR}")) NIL`;

export function namespaceCommand() {
  return defineCommand({
    names: ["NAMESPACE"],
    states: AUTHENTICATED_OR_SELECTED,
    capabilities: () => ["NAMESPACE"],
    async handle(_command, context) {
      await context.untagged(NAMESPACE_RESPONSE);
      return { text: "NAMESPACE completed" };
    },
  });
}
