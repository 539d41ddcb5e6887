/**
 * Live changes and reads, merged by version (SPEC "Live orders": delivery is at least
 * once and per order in version order, so a client drops what it has seen). `seen`
 * remembers the highest version of every order, even one that has left the list (a
 * served order must not come back when its "ready" is delivered again). Changes that
 * arrive while a read is under way are kept and laid over its answer, which may have
 * been taken before them.
 */
export interface Versioned {
  readonly id: string;
  readonly version: number;
}

/** Where a changed item goes in a page's list (or that it leaves it). */
export type Place<T> = (items: readonly T[], item: T) => T[];

export interface Tracked<T extends Versioned> {
  readonly items: readonly T[];
  readonly seen: ReadonlyMap<string, number>;
  /** Changes taken while a read is under way; null when none is. */
  readonly during: readonly T[] | null;
}

export function tracked<T extends Versioned>(items: readonly T[] = []): Tracked<T> {
  return { items, seen: remember(new Map(), items), during: null };
}

/** `seen` with each item's version, never lowering one. */
export function remember(seen: ReadonlyMap<string, number>, items: readonly Versioned[]): ReadonlyMap<string, number> {
  const next = new Map(seen);
  for (const item of items) next.set(item.id, Math.max(item.version, next.get(item.id) ?? 0));
  return next;
}

/** A change: placed if newer than anything seen of it, dropped (the same state) if not. */
export function receive<T extends Versioned>(state: Tracked<T>, item: T, place: Place<T>): Tracked<T> {
  if (item.version <= (state.seen.get(item.id) ?? 0)) return state;
  return {
    items: place(state.items, item),
    seen: remember(state.seen, [item]),
    during: state.during === null ? null : [...state.during, item],
  };
}

/** A read is starting: changes from now on are laid over its answer. */
export function reading<T extends Versioned>(state: Tracked<T>): Tracked<T> {
  return { ...state, during: state.during ?? [] };
}

/**
 * A read's answer replaces the list, except where something newer is known: a change
 * taken during the read, or a version above the one read.
 */
export function readDone<T extends Versioned>(state: Tracked<T>, read: readonly T[], place: Place<T>): Tracked<T> {
  const newer = new Map<string, T>();
  const readVersions = new Map(read.map((item) => [item.id, item.version]));
  for (const item of [...state.items, ...(state.during ?? [])]) {
    const inRead = readVersions.get(item.id);
    const taken = state.during?.includes(item) ?? false;
    if ((inRead === undefined && taken) || (inRead !== undefined && item.version > inRead)) newer.set(item.id, item);
  }
  // A version below one already seen: the read was older than a change (that left the list).
  let items = read.filter((item) => !newer.has(item.id) && item.version >= (state.seen.get(item.id) ?? 0));
  for (const item of newer.values()) items = place(items, item);
  return { items, seen: remember(state.seen, read), during: null };
}

/** A read failed: nothing to lay changes over any more. */
export function readFailed<T extends Versioned>(state: Tracked<T>): Tracked<T> {
  return { ...state, during: null };
}
