/** A mistake on the command line: reported with a hint, exit status 2. */
export class UsageError extends Error {}
