// Arguments of the RFC 4314 ACL commands (section 3):
//   setacl     = "SETACL" SP mailbox SP identifier SP mod-rights
//   deleteacl  = "DELETEACL" SP mailbox SP identifier
//   listrights = "LISTRIGHTS" SP mailbox SP identifier
//   identifier = astring; mod-rights = astring ("+" or "-" then rights, or rights)
// GETACL and MYRIGHTS take a mailbox alone (parseMailboxOnly).
import { parseMailbox } from "./mailbox.ts";
import type { Scanner } from "./scanner.ts";

export function parseAclIdentifier(s: Scanner): { mailbox: string; identifier: string } {
  s.sp();
  const mailbox = parseMailbox(s, "mailbox name");
  s.sp();
  const identifier = s.astring("identifier");
  if (identifier.length === 0) s.fail("empty identifier");
  return { mailbox, identifier };
}

export function parseSetAcl(s: Scanner): { mailbox: string; identifier: string; rights: string } {
  const { mailbox, identifier } = parseAclIdentifier(s);
  s.sp();
  const rights = s.astring("rights");
  return { mailbox, identifier, rights };
}
