"""Patches Lua 5.1.5's sources (a build copy, see build.sh) for a script's memory
budget, charged by raftis_lua.c's rl_charge: what a script's own operations ask
for, the same on every replica whatever the heap's history.

- every allocation that grows a block is charged (luaM_realloc_), before it is made;
- a string is charged its size whenever it is asked for, found interned or not
  (luaS_newlstr): one node may hold it already, another not. Fixed strings
  (reserved words, metamethod names, the memory error text) exist alike
  everywhere and are never charged;
- the string table's size depends on how many strings the whole heap holds:
  luaS_resize is never charged; the concatenation buffer's size depends on
  earlier scripts: luaZ_openspace charges the largest size the running script
  asked for, not what the buffer held before;
- while a script runs the collector does not shrink stacks (and rl_eval starts
  the main thread from the basic stack), so stack growth is charged alike;
- luaD_seterrorobj (run while an error unwinds) is never charged.
"""
import sys

d = sys.argv[1]
DECL = "extern int rl_counting, rl_nocount; extern size_t rl_buff_hw; int rl_charge(lua_State *L, size_t n);\n"


def patch(name, pairs):
    p = d + "/" + name
    s = open(p).read()
    for a, b in pairs:
        assert s.count(a) == 1, (name, a)
        s = s.replace(a, b)
    open(p, "w").write(s)


patch("lmem.c", [(
    "void *luaM_realloc_ (lua_State *L, void *block, size_t osize, size_t nsize) {\n  global_State *g = G(L);\n",
    DECL + "void *luaM_realloc_ (lua_State *L, void *block, size_t osize, size_t nsize) {\n  global_State *g = G(L);\n"
    "  if (nsize > osize && rl_counting && rl_charge(L, nsize - osize))\n    luaD_throw(L, LUA_ERRMEM);\n")])

patch("lstring.c", [
    ("void luaS_resize (lua_State *L, int newsize) {\n",
     '#include "ldo.h"\n' + DECL + "static void luaS_resize_ (lua_State *L, int newsize);\n"
     "void luaS_resize (lua_State *L, int newsize) {\n  rl_nocount++;\n  luaS_resize_(L, newsize);\n  rl_nocount--;\n}\n"
     "static void luaS_resize_ (lua_State *L, int newsize) {\n"),
    ("      /* string may be dead */\n",
     "      if (rl_counting && !testbit(o->gch.marked, FIXEDBIT) &&\n"
     "          rl_charge(L, (l+1)*sizeof(char)+sizeof(TString)))\n        luaD_throw(L, LUA_ERRMEM);\n"
     "      /* string may be dead */\n")])

patch("lzio.c", [(
    "char *luaZ_openspace (lua_State *L, Mbuffer *buff, size_t n) {\n  if (n > buff->buffsize) {\n"
    "    if (n < LUA_MINBUFFER) n = LUA_MINBUFFER;\n    luaZ_resizebuffer(L, buff, n);\n  }\n",
    '#include "ldo.h"\n' + DECL + "char *luaZ_openspace (lua_State *L, Mbuffer *buff, size_t n) {\n"
    "  if (rl_counting && n > rl_buff_hw) {\n    if (rl_charge(L, n - rl_buff_hw)) luaD_throw(L, LUA_ERRMEM);\n    rl_buff_hw = n;\n  }\n"
    "  if (n > buff->buffsize) {\n    if (n < LUA_MINBUFFER) n = LUA_MINBUFFER;\n"
    "    rl_nocount++;\n    luaZ_resizebuffer(L, buff, n);\n    rl_nocount--;\n  }\n")])

patch("lgc.c", [
    ("static void checkstacksizes (lua_State *L, StkId max) {\n  int ci_used",
     DECL + "static void checkstacksizes (lua_State *L, StkId max) {\n  if (rl_counting) return;\n  {\n  int ci_used"),
    ("  condhardstacktests(luaD_reallocstack(L, s_used));\n}\n",
     "  condhardstacktests(luaD_reallocstack(L, s_used));\n  }\n}\n")])

patch("ldo.c", [
    ("void luaD_seterrorobj (lua_State *L, int errcode, StkId oldtop) {\n  switch (errcode) {\n",
     DECL + "void luaD_seterrorobj (lua_State *L, int errcode, StkId oldtop) {\n  rl_nocount++;\n  switch (errcode) {\n"),
    ("      break;\n    }\n  }\n  L->top = oldtop + 1;\n}\n",
     "      break;\n    }\n  }\n  L->top = oldtop + 1;\n  rl_nocount--;\n}\n")])
