// Named limits of the wire codec. Each one is a default: the session may pass its own.

/**
 * RFC 7162 section 4 wants servers to accept lines of at least 8192 octets, but a legal command
 * can be longer: ID (RFC 2971 3.3) may carry 30 pairs of a 30-octet field and a 1024-octet value,
 * some 32 KB on one line. 64 KiB, as Dovecot's imap_max_line_length.
 */
export const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;

/** Literals outside APPEND (passwords, search strings, mailbox names) are small; refuse big ones early. */
export const DEFAULT_MAX_LITERAL_SIZE = 64 * 1024;

/** Above this size a literal is handed to a sink chunk by chunk instead of being buffered. */
export const DEFAULT_STREAM_THRESHOLD = 256 * 1024;

/** Total bytes (lines + buffered literals) one command may hold in memory. */
export const DEFAULT_MAX_COMMAND_SIZE = 1024 * 1024;

/** RFC 7888 section 4: a LITERAL- non-synchronizing literal may carry at most 4096 octets. */
export const LITERAL_MINUS_MAX = 4096;

/** Parenthesized nesting (search keys, lists) deeper than this is refused, so input cannot exhaust the stack. */
export const DEFAULT_MAX_NESTING_DEPTH = 32;

/** RFC 3501 nz-number / number: 32-bit unsigned. */
export const MAX_UINT32 = 0xffff_ffff;

/** RFC 7162 mod-sequence-value: 63-bit unsigned. */
export const MAX_MODSEQ = (1n << 63n) - 1n;

/** RFC 2971 section 3.3: at most 30 field/value pairs in ID. */
export const ID_MAX_PAIRS = 30;
