// Who hears of events appended to the log: the metrics of a serving process (src/events/metrics.ts
// plugs in when it loads). A CLI call never loads prom-client for it.

export type AppendObserver = (types: readonly string[]) => void;

let observer: AppendObserver | undefined;

export function observeAppends(next: AppendObserver): void {
  observer = next;
}

export function appended(types: readonly string[]): void {
  observer?.(types);
}
