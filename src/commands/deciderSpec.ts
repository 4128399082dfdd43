// Given/when/then for deciders (emmett's DeciderSpecification, reduced): given past events,
// when a command is decided, then these events, or this domain error. Used by unit tests only.
import { expect } from "vitest";
import { DomainError, type DomainErrorCode } from "./errors.ts";

export interface Decider<Command, Event, State> {
  initialState: () => State;
  evolve: (state: State, event: Event) => State;
  decide: (command: Command, state: State) => Event[];
}

export function deciderSpec<Command, Event, State>(decider: Decider<Command, Event, State>) {
  return (given: readonly Event[] | State) => {
    const state = Array.isArray(given)
      ? (given as readonly Event[]).reduce(decider.evolve, decider.initialState())
      : (given as State);
    return {
      when: (command: Command) => ({
        thenEvents(expected: readonly Event[]): void {
          expect(decider.decide(command, state)).toEqual(expected);
        },
        /** Partial match for events whose other fields the test does not care about. */
        thenMatch(expected: readonly unknown[]): void {
          const events = decider.decide(command, state);
          expect(events).toHaveLength(expected.length);
          expect(events).toMatchObject(expected as never);
        },
        thenFails(code: DomainErrorCode): void {
          let caught: unknown;
          try {
            decider.decide(command, state);
          } catch (error) {
            caught = error;
          }
          expect(caught).toBeInstanceOf(DomainError);
          expect((caught as DomainError).code).toBe(code);
        },
        /** Deciding on the state the decided events produce yields nothing more (idempotency). */
        thenIdempotent(): void {
          const events = decider.decide(command, state);
          const after = events.reduce(decider.evolve, state);
          expect(decider.decide(command, after)).toEqual([]);
        },
        events: () => decider.decide(command, state),
      }),
      state,
    };
  };
}
