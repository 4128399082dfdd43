// Reads a Prometheus text scrape (prom-client's format) into samples, for tests that watch
// metrics move: `sample(scrape, 'mailledger_imap_commands_total{command="APPEND",result="OK"}')`.

export type Scrape = ReadonlyMap<string, number>;

/** Every sample line of the text, keyed by its name and labels exactly as printed. */
export function parseScrape(text: string): Scrape {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return samples;
}

/** A sample's value; 0 when the series has not appeared yet. */
export function sample(scrape: Scrape, key: string): number {
  return scrape.get(key) ?? 0;
}

/** The sum over every series of `name` whose labels include all of `labels` (e.g. `command="APPEND"`). */
export function sumOf(scrape: Scrape, name: string, ...labels: string[]): number {
  let total = 0;
  for (const [key, value] of scrape) {
    const brace = key.indexOf("{");
    const keyName = brace === -1 ? key : key.slice(0, brace);
    if (keyName !== name) continue;
    if (labels.every((label) => key.includes(label))) total += value;
  }
  return total;
}

export async function scrape(port: number, host = "127.0.0.1"): Promise<Scrape> {
  const response = await fetch(`http://${host}:${port}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return parseScrape(await response.text());
}
