/**
 * A first-in first-out queue on a ring buffer: push and shift in O(1) without moving the other
 * items (Array#shift may copy). Allocates nothing until the first push, so an idle connection's
 * empty queues cost only the object.
 */
export class Deque<T> {
  private items: Array<T | undefined> = [];
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) & (this.items.length - 1)] = item;
    this.count++;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count--;
    return item;
  }

  /** The items from first to last. */
  toArray(): T[] {
    const out = new Array<T>(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.items[(this.head + i) & (this.items.length - 1)] as T;
    return out;
  }

  /** Keeps the items for which `keep` is true, in order. */
  retain(keep: (item: T) => boolean): void {
    const kept = this.toArray().filter(keep);
    this.items = [];
    this.head = 0;
    this.count = 0;
    for (const item of kept) this.push(item);
  }

  /** Capacity stays a power of two, so the index wraps with a mask. */
  private grow(): void {
    const capacity = this.items.length === 0 ? 4 : this.items.length * 2;
    const next = new Array<T | undefined>(capacity);
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) & (this.items.length - 1)];
    this.items = next;
    this.head = 0;
  }
}
