/**
 * Kernel-side evidence for the bridge: a private tracefs instance records each socket()
 * call's entry, the capability checks made inside it and its exit; alignTrace lines that
 * record up with the calls made and the model's predicted checks.
 */
export * from './parse';
export * from './align';
export * from './tracefs';
export * from './dmesg';
