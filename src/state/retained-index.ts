/**
 * The topics that hold a retained message, as a tree of topic levels, so a SUBSCRIBE with `+` or
 * `#` visits only the branches its filter can match instead of every retained topic. Holds one
 * value per topic; pure (no Kafka, no clock).
 */
interface Level<V> {
  readonly children: Map<string, Level<V>>;
  value: V | undefined;
}

const newLevel = <V>(): Level<V> => ({ children: new Map(), value: undefined });

export class TopicIndex<V> {
  private readonly root: Level<V> = newLevel();
  private count = 0;

  get size(): number {
    return this.count;
  }

  set(topic: string, value: V): void {
    let level = this.root;
    for (const name of topic.split('/')) {
      let next = level.children.get(name);
      if (next === undefined) level.children.set(name, (next = newLevel()));
      level = next;
    }
    if (level.value === undefined) this.count++;
    level.value = value;
  }

  delete(topic: string): boolean {
    const names = topic.split('/');
    const path: Level<V>[] = [this.root];
    for (const name of names) {
      const next = path[path.length - 1]!.children.get(name);
      if (next === undefined) return false;
      path.push(next);
    }
    const leaf = path[path.length - 1]!;
    if (leaf.value === undefined) return false;
    leaf.value = undefined;
    this.count--;
    // Levels left with neither a value nor children are removed, deepest first.
    for (let i = names.length; i > 0; i--) {
      const level = path[i]!;
      if (level.value !== undefined || level.children.size > 0) break;
      path[i - 1]!.children.delete(names[i - 1]!);
    }
    return true;
  }

  /**
   * Every value whose topic `filter` matches: `+` one level, `#` (last) this level and all below.
   * A filter starting with a wildcard matches no topic starting with `$` [MQTT-4.7.2-1].
   */
  match(filter: string): V[] {
    const found: V[] = [];
    this.walk(this.root, filter.split('/'), 0, found);
    return found;
  }

  private walk(level: Level<V>, names: readonly string[], depth: number, found: V[]): void {
    if (depth === names.length) {
      if (level.value !== undefined) found.push(level.value);
      return;
    }
    const name = names[depth]!;
    if (name === '#') {
      // `a/#` matches `a` itself as well as everything below it.
      if (level.value !== undefined && depth > 0) found.push(level.value);
      for (const [childName, child] of level.children) {
        if (depth === 0 && childName.startsWith('$')) continue;
        collect(child, found);
      }
      return;
    }
    if (name === '+') {
      for (const [childName, child] of level.children) {
        if (depth === 0 && childName.startsWith('$')) continue;
        this.walk(child, names, depth + 1, found);
      }
      return;
    }
    const child = level.children.get(name);
    if (child !== undefined) this.walk(child, names, depth + 1, found);
  }
}

function collect<V>(level: Level<V>, found: V[]): void {
  if (level.value !== undefined) found.push(level.value);
  for (const child of level.children.values()) collect(child, found);
}
