/**
 * Debian's chromium (installed by .ci/run) as the web tests and bench start it: headless, and with none of the
 * background connections this machine's closed network would refuse.
 */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
