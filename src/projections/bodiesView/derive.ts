// What the mailbox view derives from a message's blob rather than from its event: ENVELOPE,
// BODYSTRUCTURE with section offsets, and the lowercased text SEARCH matches against. Derived
// here, at projection time, so a parser fix plus a rebuild corrects every old message.
import { parseHeaderFields } from "../../mime/headerFields.ts";
import {
  decodeEncodedWords,
  type Envelope,
  extractSearchText,
  type MessageStructure,
  parseMessageStructure,
  previewText,
} from "../../mime/index.ts";

/** Where the projector reads message bodies: the blob store (src/events/blobs) or a stand-in. */
export interface BlobSource {
  /** The body stored under `digest`, or null when there is none. */
  read(digest: string): Promise<Buffer | null>;
}

export interface DerivedMessage {
  envelope: Envelope | null;
  structure: MessageStructure | null;
  searchFrom: string;
  searchTo: string;
  searchCc: string;
  searchBcc: string;
  searchSubject: string;
  /** [field name, decoded value], both lowercased, in header order. */
  searchHeaders: [string, string][];
  searchHeaderText: string;
  searchBody: string;
  /** RFC 8970 PREVIEW text ("" for a message with no text). */
  preview: string;
}

/** A body whose blob is missing: still listed and fetchable by its event data, never searchable by text. */
export const MISSING_BLOB: DerivedMessage = {
  envelope: null,
  structure: null,
  searchFrom: "",
  searchTo: "",
  searchCc: "",
  searchBcc: "",
  searchSubject: "",
  searchHeaders: [],
  searchHeaderText: "",
  searchBody: "",
  preview: "",
};

/** Derivation is a pure function of the blob, so its result is cached by digest (COPY, re-delivery). */
const DERIVED_CACHE_ENTRIES = 2_000;
/** And bounded in memory: a message's search text can be megabytes. */
const DERIVED_CACHE_BYTES = 64 * 1024 * 1024;

export function deriveMessage(raw: Buffer): DerivedMessage {
  const structure = parseMessageStructure(raw);
  const header = raw.subarray(structure.body.headerStart, structure.body.headerEnd);
  const fields = parseHeaderFields(header);
  const searchHeaders: [string, string][] = [];
  for (const [name, values] of fields) {
    for (const value of values) searchHeaders.push([name, decodeEncodedWords(value).trim().toLowerCase()]);
  }
  const joined = (name: string) =>
    searchHeaders
      .filter(([field]) => field === name)
      .map(([, value]) => value)
      .join("\n");
  return {
    envelope: structure.envelope,
    structure,
    searchFrom: joined("from"),
    searchTo: joined("to"),
    searchCc: joined("cc"),
    searchBcc: joined("bcc"),
    searchSubject: joined("subject"),
    searchHeaders,
    searchHeaderText: searchHeaders.map(([name, value]) => `${name}: ${value}`).join("\n"),
    searchBody: extractSearchText(raw, { structure }).toLowerCase(),
    preview: previewText(raw, structure),
  };
}

/** Roughly what a derivation holds in memory (strings as UTF-16, the structure as a guess). */
function approximateBytes(derived: DerivedMessage): number {
  return (
    2 * (derived.searchBody.length + derived.searchHeaderText.length * 2) +
    (derived.structure === null ? 0 : 2_048)
  );
}

export interface MessageDeriverOptions {
  /** Derivations remembered, most recently used first: at most this many ... */
  maxEntries?: number;
  /** ... and about this many bytes. */
  maxBytes?: number;
}

/**
 * Reads and derives bodies, remembering the most recently used digests. The projector derives
 * what it stores with it, and readers derive what a lagging view lacks with it (the same code,
 * so an on-demand answer equals the one the view will have).
 */
export class MessageDeriver {
  readonly #blobs: BlobSource;
  readonly #cache = new Map<string, { derived: DerivedMessage; bytes: number }>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(blobs: BlobSource, options: MessageDeriverOptions = {}) {
    this.#blobs = blobs;
    this.#maxEntries = options.maxEntries ?? DERIVED_CACHE_ENTRIES;
    this.#maxBytes = options.maxBytes ?? DERIVED_CACHE_BYTES;
  }

  /** The derived fields of every digest, read concurrently; missing blobs derive to MISSING_BLOB. */
  async deriveAll(digests: Iterable<string>): Promise<Map<string, DerivedMessage>> {
    const result = new Map<string, DerivedMessage>();
    const toRead: string[] = [];
    for (const digest of new Set(digests)) {
      const cached = this.#cache.get(digest);
      if (cached) {
        // Most recently used last: the first key is the one to forget.
        this.#cache.delete(digest);
        this.#cache.set(digest, cached);
        result.set(digest, cached.derived);
      } else {
        toRead.push(digest);
      }
    }
    const read = await Promise.all(toRead.map((digest) => this.#blobs.read(digest)));
    toRead.forEach((digest, i) => {
      const raw = read[i];
      const derived = raw ? deriveMessage(raw) : MISSING_BLOB;
      result.set(digest, derived);
      // A missing blob stays missing: bodies are stored before the event that names them commits.
      this.#remember(digest, derived);
    });
    return result;
  }

  #remember(digest: string, derived: DerivedMessage) {
    const bytes = approximateBytes(derived);
    if (bytes > this.#maxBytes / 4) return;
    this.#cache.set(digest, { derived, bytes });
    this.#bytes += bytes;
    while (this.#cache.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#bytes -= this.#cache.get(oldest)!.bytes;
      this.#cache.delete(oldest);
    }
  }
}
