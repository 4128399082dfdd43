// Old event shapes are never rewritten in the table: readers lift them to the current
// schemaVersion one step at a time with upcasters (DESIGN.md, Events).
import type { NewEvent } from "./envelope.ts";

/** Turns the data of `type` at `fromVersion` into its shape at `fromVersion + 1`. */
export interface Upcaster {
  type: string;
  fromVersion: number;
  upcast: (data: unknown) => unknown;
}

export class Upcasters {
  readonly #steps = new Map<string, Upcaster>();

  constructor(upcasters: readonly Upcaster[] = []) {
    for (const upcaster of upcasters) this.register(upcaster);
  }

  register(upcaster: Upcaster): this {
    const key = `${upcaster.type}@${upcaster.fromVersion}`;
    if (this.#steps.has(key)) throw new Error(`two upcasters for ${key}`);
    this.#steps.set(key, upcaster);
    return this;
  }

  /** Applies every registered step from the event's version upward; unknown types pass through. */
  upcast<E extends NewEvent>(event: E): E {
    let current = event;
    for (;;) {
      const step = this.#steps.get(`${current.type}@${current.schemaVersion}`);
      if (!step) return current;
      current = { ...current, schemaVersion: current.schemaVersion + 1, data: step.upcast(current.data) };
    }
  }
}

export const noUpcasters = new Upcasters();
