/** For exhaustive `switch`es: a compile error when a case is missing, a throw if one slips by. */
export function assertNever(value: never): never {
  throw new Error(`unhandled value ${JSON.stringify(value)}`);
}
