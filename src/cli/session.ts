import { openPppSession, type PppSession, type SessionPhase } from '../index.js';
import type { LinkArgs } from './args.js';

/** Brings the link up from command-line arguments; `onPhase` hears each step. */
export function openSessionFromArgs(
  args: LinkArgs,
  onPhase: (phase: SessionPhase, detail?: string) => void,
): Promise<PppSession> {
  return openPppSession({
    path: args.path,
    direct: args.direct,
    forcePin: args.forcePin,
    onPhase,
    ...(args.baudRate === undefined ? {} : { baudRate: args.baudRate }),
    ...(args.rtscts === undefined ? {} : { rtscts: args.rtscts }),
    ...(args.record === undefined ? {} : { record: args.record }),
    ...(args.pin === undefined ? {} : { pin: args.pin }),
    ...(args.apn === undefined ? {} : { apn: args.apn }),
    ...(args.user === undefined ? {} : { user: args.user }),
    ...(args.password === undefined ? {} : { password: args.password }),
    ...(args.pcap === undefined ? {} : { pcap: args.pcap }),
  });
}

/** Resolves on the first of SIGINT/SIGTERM, or when `also` resolves. */
export function untilSignal<T>(also: Promise<T>): Promise<'signal' | T> {
  return new Promise((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve('signal');
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    also.then(
      (v) => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve(v);
      },
      () => undefined,
    );
  });
}
