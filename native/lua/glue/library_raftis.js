// emscripten --js-library: the one synchronous import of raftis_lua.c.
mergeInto(LibraryManager.library, {
  rl_host: function (kind, ptr, len) {
    return Module['rlHost'](kind, ptr, len);
  },
});
