/**
 * Splits a byte stream into lines (`\n`, a `\r` before it dropped), as
 * `readline` does for the warm protocol, with a cap on one line's length:
 * readline keeps an unfinished line whole, so a server writing one endless
 * line would grow a string in the host until V8's length limit throws in a
 * stream callback. Past `maxLineBytes` the splitter calls `onTooLong` once
 * and drops everything after it. Lines are given as bytes: the reader may
 * drop one without decoding it.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private partLength = 0;
  private over = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: Buffer) => void,
    private readonly onTooLong: () => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.over) return;
    let from = 0;
    for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, from)) {
      // A newline byte is never inside a multi-byte UTF-8 character: each line decodes on its own.
      const piece = chunk.subarray(from, at);
      from = at + 1;
      if (this.partLength + piece.length > this.maxLineBytes) return this.tooLong();
      let line = piece;
      if (this.parts.length > 0) {
        line = Buffer.concat([...this.parts, piece], this.partLength + piece.length);
        this.parts = [];
        this.partLength = 0;
      }
      this.onLine(line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, line.length - 1) : line);
      if (this.over) return;
    }
    if (from < chunk.length) {
      const rest = chunk.subarray(from);
      if (this.partLength + rest.length > this.maxLineBytes) return this.tooLong();
      this.parts.push(rest);
      this.partLength += rest.length;
    }
  }

  /** The stream ended: an unfinished last line is a line (as readline gives it). */
  flush(): void {
    if (this.over || this.parts.length === 0) return;
    const line = Buffer.concat(this.parts, this.partLength);
    this.parts = [];
    this.partLength = 0;
    this.onLine(line);
  }

  private tooLong(): void {
    this.over = true;
    this.parts = [];
    this.partLength = 0;
    this.onTooLong();
  }
}
