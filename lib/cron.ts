/**
 * EventBridge Scheduler's cron expressions, `cron(minutes hours day-of-month month day-of-week year)`,
 * checked field by field as Scheduler would check them at deployment: a Unix habit (`*` in both day
 * fields, Sunday as 0, five fields) otherwise synthesizes and fails `cdk deploy` in CloudFormation with
 * a message that names no setting. Names (JAN, FRI) are taken in any case.
 */

interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names that stand for numbers (JAN = 1, SUN = 1). */
  readonly names?: readonly string[];
  /** Forms of one part allowed besides numbers, ranges, `*` and steps. */
  readonly special?: RegExp;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const FIELDS: readonly CronField[] = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  // L: the month's last day; LW: its last weekday; 15W: the weekday nearest the 15th.
  { name: 'day-of-month', min: 1, max: 31, special: /^(L|LW|([1-9]|[12]\d|3[01])W)$/ },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  // 6L: the month's last Friday; 6#3: its third Friday.
  { name: 'day-of-week', min: 1, max: 7, names: DAYS, special: /^(L|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(L|#[1-5]))$/i },
  { name: 'year', min: 1970, max: 2199 },
];

/** Why `expression` is not a cron expression EventBridge Scheduler takes, or undefined when it is. */
export function cronProblem(expression: string): string | undefined {
  const inner = /^cron\((.*)\)$/.exec(expression);
  if (!inner) return 'must be written cron(minutes hours day-of-month month day-of-week year)';
  const parts = inner[1].trim().split(/\s+/);
  if (parts.length !== 6) return `must have 6 fields (minutes hours day-of-month month day-of-week year), not ${parts.length}`;
  for (const [i, field] of FIELDS.entries()) {
    const problem = fieldProblem(parts[i], field);
    if (problem) return `has a ${field.name} field "${parts[i]}" that ${problem}`;
  }
  const [dayOfMonth, dayOfWeek] = [parts[2], parts[4]];
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) return 'must have "?" in exactly one of day-of-month and day-of-week (Scheduler takes one of them, never both)';
  return undefined;
}

function fieldProblem(text: string, field: CronField): string | undefined {
  const days = field.name === 'day-of-month' || field.name === 'day-of-week';
  if (text === '?') return days ? undefined : 'may not be "?" (only day-of-month or day-of-week may)';
  if (text.includes('#') && text.includes(',')) return 'lists more than one day where one has "#" (Scheduler takes a "#" day alone)';
  for (const part of text.split(',')) {
    if (field.special?.test(part)) continue;
    const [range, step, ...more] = part.split('/');
    if (more.length > 0) return `has more than one "/"`;
    if (step !== undefined && !/^[1-9]\d*$/.test(step)) return `has a step "${step}" that is not a whole number from 1`;
    if (range === '*') continue;
    const bounds = range.split('-');
    if (bounds.length > 2) return `has a range "${range}" that is not from-to`;
    for (const bound of bounds) {
      const n = valueOf(bound, field);
      if (n === undefined) return `has "${bound}", which is not ${field.names ? `a number from ${field.min} to ${field.max} or a name (${field.names[0]}-${field.names[field.names.length - 1]})` : `a number from ${field.min} to ${field.max}`}`;
    }
  }
  return undefined;
}

function valueOf(text: string, field: CronField): number | undefined {
  const named = field.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + 1;
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= field.min && n <= field.max ? n : undefined;
}
