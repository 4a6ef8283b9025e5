/**
 * The AWS SDK warns about Node 20 once per process; keep the bench output to the figures. Imported
 * first (it has no imports) so that it runs before the SDK loads.
 */
const listeners = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name === 'NodeVersionSupportWarning' || w.message.startsWith('NodeVersionSupportWarning')) return;
  for (const l of listeners) l(w);
});
