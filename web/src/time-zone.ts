/**
 * The zone every time on the dashboard is shown in: the browser's (the operator's) or UTC,
 * chosen in the header and remembered in localStorage.
 */
export type ZoneChoice = 'local' | 'utc';

const KEY = 'vigil.timeZone';

function stored(): ZoneChoice {
  try {
    return localStorage.getItem(KEY) === 'utc' ? 'utc' : 'local';
  } catch {
    return 'local'; // storage refused (private mode): the default
  }
}

let choice: ZoneChoice = stored();

export const zoneChoice = (): ZoneChoice => choice;

export function setZoneChoice(next: ZoneChoice): void {
  choice = next;
  try {
    localStorage.setItem(KEY, next);
  } catch {
    // Not remembered; the choice still holds for this page.
  }
}

/** The offset of the browser's zone at `ms`, as `+01:00`. */
function offsetText(ms: number): string {
  const minutes = -new Date(ms).getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** The zone's name as shown beside times: `UTC`, or `Europe/Berlin (UTC+01:00)`. */
export function zoneLabel(at = Date.now()): string {
  if (choice === 'utc') return 'UTC';
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const offset = offsetText(at);
  if (offset === '+00:00' && (name === 'UTC' || name === 'Etc/UTC')) return 'UTC';
  return `${name} (UTC${offset})`;
}

/** The short form, for axis titles: `UTC` or `UTC+01:00`. */
export function zoneShort(at = Date.now()): string {
  if (choice === 'utc') return 'UTC';
  const offset = offsetText(at);
  return offset === '+00:00' ? 'UTC' : `UTC${offset}`;
}

export interface Parts {
  readonly year: number;
  readonly month: number; // 1–12
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** The calendar fields of `ms` in the chosen zone. */
export function partsOf(ms: number): Parts {
  const d = new Date(ms);
  return choice === 'utc'
    ? {
        year: d.getUTCFullYear(),
        month: d.getUTCMonth() + 1,
        day: d.getUTCDate(),
        hour: d.getUTCHours(),
        minute: d.getUTCMinutes(),
        second: d.getUTCSeconds(),
      }
    : {
        year: d.getFullYear(),
        month: d.getMonth() + 1,
        day: d.getDate(),
        hour: d.getHours(),
        minute: d.getMinutes(),
        second: d.getSeconds(),
      };
}

/** `YYYY-MM-DDTHH:MM` (a datetime-local input's value) read in the chosen zone. */
export function parseZoned(text: string): number {
  return choice === 'utc' ? Date.parse(`${text}Z`) : new Date(text).getTime();
}
