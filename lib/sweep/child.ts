/**
 * The argv-array functions of child_process, by name. Required when a variant or a policy needs a
 * process: a sweep of `self` alone never loads child_process (about 10 ms of start).
 */
export { spawn, spawnSync } from 'child_process';
