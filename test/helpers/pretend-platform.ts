/**
 * Preloaded with `node -r` to make this process report another platform, so the
 * "Linux only" paths can be exercised on Linux: SOCKBRIDGE_PRETEND_PLATFORM=darwin.
 */
const pretend = process.env.SOCKBRIDGE_PRETEND_PLATFORM ?? 'darwin';
Object.defineProperty(process, 'platform', { value: pretend, configurable: true, enumerable: true, writable: false });
