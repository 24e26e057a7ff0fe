/** The last few things that happened (batches, rollups, dead letters), newest first, bounded. */
export class Recent<T> {
  private readonly items: T[] = [];
  constructor(private readonly keep: number) {}
  add(item: T): void {
    this.items.unshift(item);
    if (this.items.length > this.keep) this.items.length = this.keep;
  }
  list(): T[] {
    return this.items.slice();
  }
}
