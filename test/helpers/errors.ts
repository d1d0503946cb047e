/** The message of the error `load` throws, which must be a `kind`; a test that expected one fails without it. */
export function thrownMessage(load: () => unknown, kind: new (...args: never[]) => Error): string {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(kind);
    return (err as Error).message;
  }
  throw new Error(`expected ${kind.name}`);
}
