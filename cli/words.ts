/** A count with its noun, in the singular for one: "1 account", "2 accounts", "1 entity", "3 entities". */
export const counted = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
