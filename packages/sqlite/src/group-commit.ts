import type BetterSqlite3 from 'better-sqlite3';

interface Member {
  settle(): void;
  fail(err: unknown): void;
}

/**
 * Group commit: every write made during one turn of the event loop joins one
 * transaction, committed at `setImmediate`. A commit appends to the WAL once
 * for all of them instead of once per write, which is most of a write's cost.
 * Each write's promise settles only after that commit, so a caller told "done"
 * is never told so before its write is in the file; if the commit fails (disk
 * full), every write of the group is rolled back and rejected. Work that must
 * follow a durable write (waking a receiver, answering a waiter) is passed as
 * `after` and runs after the commit.
 */
export class GroupCommit {
  private members: Member[] | undefined;

  constructor(private readonly db: BetterSqlite3.Database) {}

  /**
   * Runs `fn` (synchronously, inside the open group) and resolves with its
   * value once the group is committed. A single statement or a
   * `db.transaction()` is atomic on its own (a failed one leaves the group).
   */
  write<T>(fn: () => T, after?: (value: T) => void): Promise<T> {
    try {
      if (!this.members) {
        this.db.exec('BEGIN');
        this.members = [];
        setImmediate(() => this.commit());
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const members = this.members;
    let value: T;
    try {
      value = fn();
    } catch (err) {
      // Some failures (disk full, I/O) make SQLite roll the whole transaction back: the group is lost.
      if (!this.db.inTransaction) this.abandon(members, err);
      return Promise.reject(err);
    }
    return new Promise<T>((resolve, reject) => {
      members.push({
        settle: () => {
          after?.(value);
          resolve(value);
        },
        fail: reject,
      });
    });
  }

  /** Commits the open group now (at close). */
  flush(): void {
    this.commit();
  }

  private commit(): void {
    const members = this.members;
    if (!members) return;
    this.members = undefined;
    try {
      if (this.db.inTransaction) this.db.exec('COMMIT');
    } catch (err) {
      this.abandon(members, err);
      return;
    }
    for (const m of members) m.settle();
  }

  private abandon(members: Member[], err: unknown): void {
    if (this.members === members) this.members = undefined;
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      // Already rolled back by SQLite.
    }
    for (const m of members.splice(0)) m.fail(err);
  }
}
