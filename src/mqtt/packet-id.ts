/**
 * Packet identifiers (MQTT 2.2.1): 1..65535, one space for PUBLISH, SUBSCRIBE and UNSUBSCRIBE,
 * handed out in turn and skipping the ones still in use; 65535 wraps to 1.
 */
export class PacketIds {
  private next = 1;
  private readonly used = new Set<number>();

  /** A free identifier, or undefined when all 65535 are in use. */
  allocate(): number | undefined {
    if (this.used.size >= 65535) return undefined;
    for (;;) {
      const id = this.next;
      this.next = id === 65535 ? 1 : id + 1;
      if (!this.used.has(id)) {
        this.used.add(id);
        return id;
      }
    }
  }

  /** Marks `id` as taken (an identifier restored from a store). */
  reserve(id: number): void {
    this.used.add(id);
  }

  release(id: number): void {
    this.used.delete(id);
  }

  inUse(id: number): boolean {
    return this.used.has(id);
  }

  get size(): number {
    return this.used.size;
  }

  /** @internal Starts the counter at `id` (tests of the wrap). */
  setNext(id: number): void {
    this.next = id;
  }
}
