/** Single-quotes a word for `sh -c`, so flags and paths from options reach the program as given. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
