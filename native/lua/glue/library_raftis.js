// emscripten --js-library: the one synchronous import of raftis_lua.c.
mergeInto(LibraryManager.library, {
  // The host's function, read off the Module object (a dictionary-mode object: a slow lookup) once, not per call.
  $rlHostFn: null,
  rl_host__deps: ['$rlHostFn'],
  rl_host: function (kind, ptr, len) {
    return (rlHostFn || (rlHostFn = Module['rlHost']))(kind, ptr, len);
  },
});
