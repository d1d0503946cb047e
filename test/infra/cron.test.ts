import { cronProblem } from '../../lib/cron';

describe("EventBridge Scheduler's cron expressions", () => {
  it.each([
    'cron(0 3 * * ? *)',
    'cron(15 10 ? * 6L 2026-2030)',
    'cron(0/15 * * * ? *)',
    'cron(0 8 1 * ? *)',
    'cron(0 18 ? * MON-FRI *)',
    'cron(0 10 ? * 6#3 *)',
    'cron(0 0 L * ? *)',
    'cron(0 0 15W * ? *)',
    'cron(5,35 14 ? jan,JUL sun *)',
    'cron(0 1-5/2 ? * * 2027)',
    'cron(0 10 ? * fri#3 *)',
  ])('takes %s', (expression) => {
    expect(cronProblem(expression)).toBeUndefined();
  });

  it.each([
    ['0 3 * * ? *', 'must be written cron('],
    ['cron(0 3 * * *)', 'must have 6 fields (minutes hours day-of-month month day-of-week year), not 5'],
    // The Unix habit: a day of the month and a day of the week both given.
    ['cron(0 3 * * * *)', 'must have "?" in exactly one of day-of-month and day-of-week'],
    ['cron(0 3 ? * ? *)', 'must have "?" in exactly one of day-of-month and day-of-week'],
    ['cron(60 3 * * ? *)', 'has a minutes field "60" that has "60", which is not a number from 0 to 59'],
    ['cron(0 24 * * ? *)', 'hours field "24"'],
    ['cron(0 3 0 * ? *)', 'day-of-month field "0"'],
    ['cron(0 3 * 13 ? *)', 'month field "13" that has "13", which is not a number from 1 to 12 or a name (JAN-DEC)'],
    // Unix counts Sunday 0; Scheduler counts it 1.
    ['cron(0 3 ? * 0 *)', 'day-of-week field "0"'],
    ['cron(0 3 ? * 1-8 *)', 'day-of-week field "1-8"'],
    ['cron(0 3 * * ? 1969)', 'year field "1969"'],
    ['cron(0/0 3 * * ? *)', 'has a step "0" that is not a whole number from 1'],
    ['cron(? 3 * * ? *)', 'may not be "?"'],
    ['cron(0 3 * FOO ? *)', 'month field "FOO"'],
    ['cron(0 3 1-2-3 * ? *)', 'has a range "1-2-3" that is not from-to'],
    ['cron(0 3 ? * 3#1,6#3 *)', 'Scheduler takes a "#" day alone'],
  ])('refuses %s, saying why', (expression, why) => {
    expect(cronProblem(expression)).toContain(why);
  });
});
