/**
 * Starts several things at once and waits for all of them, even when one
 * fails: each start assigns what it started as soon as it has it (so an
 * afterAll can stop it), and the first failure is thrown only once every
 * start has settled. Promise.all would throw at the first failure while the
 * others were still starting, leaving them unassigned and running.
 */
export async function allStarted(starts: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(starts);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}
