import { EventEmitter } from 'node:events';
import type { IpLink } from '../../src/ip/stack.js';
import type { GatewayCore } from '../../src/sim/gateway/core.js';
import type { GatewayEvent } from '../../src/sim/gateway/events.js';
import type { SimGateway } from '../../src/sim/gateway/gateway.js';
import type { Clock } from '../../src/util/clock.js';
import { DeadlineTimer } from '../../src/util/deadline-timer.js';

const INFO = { localAddress: '10.0.0.2', peerAddress: '10.0.0.1', dns: ['10.0.0.1'], mtu: 1500 };

/** The device's IP link with a `SimGateway` at the other end; packets cross on the next turn. */
export class GatewayLink extends EventEmitter implements IpLink {
  readonly info = INFO;

  constructor(private readonly gateway: SimGateway) {
    super();
    gateway.on('ip', (p) => {
      const copy = Uint8Array.from(p);
      setImmediate(() => this.emit('ip', copy));
    });
  }

  sendIp(packet: Uint8Array): boolean {
    const copy = Uint8Array.from(packet);
    setImmediate(() => this.gateway.input(copy));
    return true;
  }
}

/**
 * The device's IP link with a bare `GatewayCore` at the other end: the test plays the shell,
 * seeing every event in `events` and answering through `onEvent`.
 */
export class CoreLink extends EventEmitter implements IpLink {
  readonly info = INFO;
  readonly events: GatewayEvent[] = [];
  onEvent: (e: GatewayEvent) => void = () => undefined;
  private readonly timer: DeadlineTimer;

  constructor(
    readonly core: GatewayCore,
    private readonly clock: Clock,
  ) {
    super();
    this.timer = new DeadlineTimer(clock, () => {
      core.tick(clock.now());
      this.pump();
    });
  }

  sendIp(packet: Uint8Array): boolean {
    const copy = Uint8Array.from(packet);
    setImmediate(() => {
      this.core.input(copy, this.clock.now());
      this.pump();
    });
    return true;
  }

  /** Delivers the core's output to the device and its events to the test. */
  pump(): void {
    for (let round = 0; round < 100; round++) {
      const out = this.core.takeOutput();
      const events = this.core.takeEvents();
      for (const p of out) setImmediate(() => this.emit('ip', p));
      for (const e of events) {
        this.events.push(e);
        this.onEvent(e);
      }
      if (out.length === 0 && events.length === 0) break;
    }
    this.timer.arm(this.core.nextDeadline());
  }
}

export async function waitFor(done: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
