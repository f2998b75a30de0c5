import { type PeerCheck, peer, which } from '../interop/harness/peers.js';

/**
 * A few x509 tests run the `openssl` CLI (through test-pki.ts's `opensslPkcs12` and
 * `opensslChain`) to meet files a real CA tool writes. They stay in the unit project (they
 * take a second and need no network), guarded like the interop peers: without openssl on
 * PATH they are skipped with a one-line reason, and under CELLSTACK_REQUIRE_PEERS=1 the file
 * fails instead. Call once, at the top of the file.
 */
export function opensslCli(): PeerCheck {
  return peer(
    'openssl',
    which('openssl') ? undefined : 'the openssl CLI is not on PATH (apt-get install openssl)',
  );
}
