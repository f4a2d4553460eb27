/**
 * redlock 5.0.0-beta.2 ships its types (dist/index.d.ts) but its package.json
 * "exports" hides them from NodeNext resolution: this module points at them.
 */
declare module 'redlock' {
  type M = typeof import('../../node_modules/redlock/dist/index.js');
  const Redlock: M['default'];
  export default Redlock;
  export const ExecutionError: M['ExecutionError'];
  export type ExecutionError = InstanceType<M['ExecutionError']>;
  export const Lock: M['Lock'];
  export type Lock = InstanceType<M['Lock']>;
}
