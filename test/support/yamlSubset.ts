// Reads the YAML the deployment files use, no more: block mappings and sequences by indentation,
// plain and quoted scalars, comments, `{}` and `[]`. Anything else (anchors, flow collections,
// multi-line strings) is refused, so a file that grows beyond this subset fails its test loudly
// instead of being misread.

export type YamlValue = string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
  number: number;
}

function scalar(text: string, where: number): YamlValue {
  if (text === "{}") return {};
  if (text === "[]") return [];
  if (text.startsWith('"')) {
    if (!text.endsWith('"') || text.length < 2) throw new Error(`line ${where}: unterminated string`);
    return JSON.parse(text) as string;
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) throw new Error(`line ${where}: unterminated string`);
    return text.slice(1, -1).replaceAll("''", "'");
  }
  if (/^[&*!|>[{]/.test(text)) throw new Error(`line ${where}: "${text}" is beyond the YAML subset`);
  if (text.includes(": "))
    throw new Error(`line ${where}: a plain scalar with ": " reads as a mapping; quote it`);
  return text;
}

/** Strips a comment: a # at the start or after white space, outside quotes. */
function uncommented(raw: string): string {
  let quote: string | undefined;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(raw[i - 1]!))) return raw.slice(0, i);
  }
  return raw;
}

export function parseYamlSubset(source: string): YamlValue {
  const lines: Line[] = [];
  source.split("\n").forEach((raw, index) => {
    if (raw.includes("\t")) throw new Error(`line ${index + 1}: tabs are not YAML indentation`);
    const text = uncommented(raw).trimEnd();
    if (text.trim() === "") return;
    lines.push({ indent: text.length - text.trimStart().length, text: text.trim(), number: index + 1 });
  });
  let at = 0;

  function block(indent: number): YamlValue {
    const first = lines[at]!;
    if (first.text.startsWith("- ") || first.text === "-") {
      const list: YamlValue[] = [];
      while (at < lines.length && lines[at]!.indent === indent && lines[at]!.text.startsWith("-")) {
        const line = lines[at]!;
        const rest = line.text.slice(1).trim();
        if (rest === "") {
          at++;
          list.push(block(lines[at]!.indent));
        } else if (/^[^"'\s][^:]*:(\s|$)/.test(rest)) {
          // "- key: value": a mapping whose keys line up after "- ".
          lines[at] = { indent: indent + 2, text: rest, number: line.number };
          list.push(block(indent + 2));
        } else {
          at++;
          list.push(scalar(rest, line.number));
        }
      }
      return list;
    }
    const map: { [key: string]: YamlValue } = {};
    while (at < lines.length && lines[at]!.indent === indent) {
      const line = lines[at]!;
      const match = /^("[^"]*"|[^:]+):(?:\s+(.*))?$/.exec(line.text);
      if (!match) throw new Error(`line ${line.number}: expected "key: value", got "${line.text}"`);
      const key = match[1]!.startsWith('"') ? (JSON.parse(match[1]!) as string) : match[1]!.trim();
      if (key in map) throw new Error(`line ${line.number}: "${key}" twice`);
      at++;
      if (match[2] !== undefined && match[2] !== "") map[key] = scalar(match[2], line.number);
      else if (at < lines.length && lines[at]!.indent > indent) map[key] = block(lines[at]!.indent);
      else if (at < lines.length && lines[at]!.indent === indent && lines[at]!.text.startsWith("- "))
        map[key] = block(indent);
      else map[key] = "";
    }
    if (at < lines.length && lines[at]!.indent > indent)
      throw new Error(`line ${lines[at]!.number}: unexpected indentation`);
    return map;
  }

  if (lines.length === 0) return {};
  const value = block(lines[0]!.indent);
  if (at < lines.length) throw new Error(`line ${lines[at]!.number}: unexpected indentation`);
  return value;
}
