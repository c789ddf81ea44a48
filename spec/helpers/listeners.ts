/** A listener registry by event name, for the fakes: add, remove, call, count. */
export class Listeners<L extends (...args: never[]) => void> {
  private readonly byType = new Map<string, Set<L>>();

  add(type: string, listener: L): void {
    let set = this.byType.get(type);
    if (!set) this.byType.set(type, (set = new Set()));
    set.add(listener);
  }

  remove(type: string, listener: L): void {
    this.byType.get(type)?.delete(listener);
  }

  /** Calls every listener of `type` (a snapshot: listeners may remove themselves). */
  call(type: string, ...args: Parameters<L>): void {
    for (const listener of [...(this.byType.get(type) ?? [])]) listener(...args);
  }

  /** How many are still attached (0 after a clean teardown). */
  count(): number {
    let n = 0;
    for (const set of this.byType.values()) n += set.size;
    return n;
  }
}
