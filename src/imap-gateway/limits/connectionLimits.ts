// Connection counts per node and per user. The node limit is checked on accept (BYE before the
// greeting), the user limit when a login succeeds (NO [LIMIT]).

export class ConnectionLimits {
  readonly #maxConnections: number;
  readonly #maxPerUser: number;
  #open = 0;
  readonly #perUser = new Map<string, number>();

  constructor(maxConnections: number, maxPerUser: number) {
    this.#maxConnections = maxConnections;
    this.#maxPerUser = maxPerUser;
  }

  get open(): number {
    return this.#open;
  }

  tryOpen(): boolean {
    if (this.#open >= this.#maxConnections) return false;
    this.#open++;
    return true;
  }

  closed(): void {
    this.#open = Math.max(0, this.#open - 1);
  }

  tryClaimUser(userId: string): boolean {
    const count = this.#perUser.get(userId) ?? 0;
    if (count >= this.#maxPerUser) return false;
    this.#perUser.set(userId, count + 1);
    return true;
  }

  releaseUser(userId: string): void {
    const count = this.#perUser.get(userId) ?? 0;
    if (count <= 1) this.#perUser.delete(userId);
    else this.#perUser.set(userId, count - 1);
  }

  userConnections(userId: string): number {
    return this.#perUser.get(userId) ?? 0;
  }
}
