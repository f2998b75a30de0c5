import { readFileSync } from 'node:fs';
import { shQuote } from './shell.js';

/**
 * Test services that run inside the UML guest, bound to the peer's PPP address so that only
 * the PPP client can reach them. Each is a foreground command the guest restarts (a bounded
 * number of times) if it exits. A new service (TCP source/sink, MQTT, TLS of later layers)
 * is one more entry in SERVICES plus its name in UmlService.
 */
export type UmlService = 'dns' | 'echo';

/** Names the guest's DNS server answers; anything else under DNS_ZONE is NXDOMAIN. */
export const DNS_ZONE = 'cellstack.test';
export function dnsNames(peer: string, client: string): Record<string, string> {
  return {
    [DNS_ZONE]: peer,
    [`peer.${DNS_ZONE}`]: peer,
    [`broker.${DNS_ZONE}`]: peer,
    [`client.${DNS_ZONE}`]: client,
    [`mqtt.${DNS_ZONE}`]: `CNAME broker.${DNS_ZONE}`,
    [`txt.${DNS_ZONE}`]: 'TXT "cellstack peer"',
  };
}

export interface ServiceContext {
  /** The guest's PPP address (services bind it before ppp0 exists: ip_nonlocal_bind). */
  address: string;
  clientAddress: string;
  /** Where the service's files are inside the guest. */
  dir: string;
  /** Upper bound for a service's own lifetime, seconds. */
  lifetimeS: number;
}

export interface GuestService {
  /** Files written to `dir` (name -> content). */
  files: Record<string, string>;
  /** One shell command line that runs the service in the foreground. */
  command: string;
  /** Ports the guest waits for before it calls the peer ready. */
  tcp: number[];
  udp: number[];
  /** Host executables the service needs (checked before booting). */
  needs: string[];
}

const PYTHON = '/usr/bin/python3';

const SERVICES: Record<UmlService, (ctx: ServiceContext) => GuestService> = {
  // dnsmasq answering a fixed zone and nothing else: no upstream, no /etc/hosts, no forwarding.
  dns: (ctx) => {
    const names = dnsNames(ctx.address, ctx.clientAddress);
    const args = [
      'dnsmasq',
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      '--no-poll',
      `--listen-address=${ctx.address}`,
      '--bind-interfaces',
      '--port=53',
      '--user=root',
      '--pid-file=',
      '--log-queries',
      '--log-facility=-',
      `--local=/${DNS_ZONE}/`,
      ...Object.entries(names)
        .filter(([, v]) => /^\d/.test(v))
        .map(([k, v]) => `--host-record=${k},${v}`),
      `--cname=mqtt.${DNS_ZONE},broker.${DNS_ZONE}`,
      `--txt-record=txt.${DNS_ZONE},"cellstack peer"`,
    ];
    return {
      files: {},
      command: args.map(shQuote).join(' '),
      tcp: [53],
      udp: [53],
      needs: ['/usr/sbin/dnsmasq'],
    };
  },
  echo: (ctx) => ({
    files: { 'echo.py': readFileSync(new URL('./guest-echo.py', import.meta.url), 'utf8') },
    command: [PYTHON, '-u', `${ctx.dir}/echo.py`, '--bind', ctx.address, '--lifetime', String(ctx.lifetimeS)]
      .map(shQuote)
      .join(' '),
    tcp: [7, 9],
    udp: [7, 9],
    needs: [PYTHON],
  }),
};

export function guestService(name: UmlService, ctx: ServiceContext): GuestService {
  return SERVICES[name](ctx);
}
