/**
 * Test hooks: model rules a test may break on purpose, to prove that a wrong model is caught
 * (MISMATCH, exit 1) and never passed off as EXPLAINED. Read once from the environment variable
 * SOCKBRIDGE_TEST_BREAK_RULE (comma-separated rule names), so a test breaks the CLI in a child
 * process without editing code. Unknown names are ignored. Never set it outside tests.
 *
 *   ping_init_sock   net/ipv4/ping.c: the ping_group_range decision is turned around
 */
export const BROKEN_RULES: ReadonlySet<string> = new Set(
  (process.env.SOCKBRIDGE_TEST_BREAK_RULE ?? '').split(',').map((s) => s.trim()).filter(Boolean),
);
