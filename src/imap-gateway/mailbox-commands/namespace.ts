// NAMESPACE (RFC 2342): one personal namespace with an empty prefix and "/" as the hierarchy
// delimiter; no other users' or shared namespaces.
import { MAILBOX_HIERARCHY_SEPARATOR } from "../../events/domain/common.ts";
import { AUTHENTICATED_OR_SELECTED, defineCommand } from "../module.ts";

export const NAMESPACE_RESPONSE = `NAMESPACE (("" "${MAILBOX_HIERARCHY_SEPARATOR}")) NIL NIL`;

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
