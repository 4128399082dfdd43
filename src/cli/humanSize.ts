// Sizes as a person reads them: IEC units (1 KiB = 1024 octets), one decimal below 10 of a unit,
// whole numbers above, exact octets under 1 KiB. `--json` output keeps exact octets instead.

const UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB"];

export function humanSize(octets: number): string {
  if (octets < 1024) return `${octets} B`;
  let value = octets;
  let unit = -1;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  // 1023.96 KiB rounds to 1024 KiB: say 1 MiB instead.
  if (shown >= 1024 && unit < UNITS.length - 1) return `1 ${UNITS[unit + 1]}`;
  return `${shown} ${UNITS[unit]}`;
}
