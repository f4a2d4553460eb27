/*
 * raftis_functions.c -- Redis 7.0's Lua functions engine (redis/src/
 * function_lua.c and the library checks of functions.c), for a VM created
 * with rl_init(limit, 1). See raftis_lua.c for the scripting environment it
 * shares.
 *
 * Modelled on redis/src/function_lua.c and redis/src/functions.c
 * (BSD-3-Clause, Copyright (c) 2021, Redis Ltd.).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include <stdint.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
#include "raftis_lua.h"

/* ---- the functions engine (function_lua.c) --------------------------------
 * A VM created with functions_mode = 1 is Redis's Lua functions engine: the
 * globals are an empty read-only table whose metatable's __index is the real
 * globals; while FUNCTION LOAD runs a library, __index is the library API
 * instead (a `redis` table with only register_function, log and the version),
 * so nothing else is reachable at load time. Registered callbacks are kept
 * with luaL_ref; the functions of the library being loaded are collected here
 * and handed to JS in outbuf. */
#define LIBRARY_API_NAME "__LIBRARY_API__"
#define GLOBALS_API_NAME "__GLOBALS_API__"

const char *RL_ERRH_FUNCTIONS = RL_ERRH_HEAD "local error_handler = function (err)\n" RL_ERRH_BODY "return error_handler";

/* scripts_flags_def (script.c), in Redis's order */
static const struct { const char *str; int flag; } script_flags_def[] = {
    {"no-writes", 1}, {"allow-oom", 2}, {"allow-stale", 4}, {"no-cluster", 8}, {"allow-cross-slot-keys", 16}, {NULL, 0} };

typedef struct { char *name; char *desc; int ref; int flags; } reg_fn_t;
static reg_fn_t *load_fns = NULL;       /* functions of the library being loaded */
static int load_nfns = 0, load_cap = 0;
static int load_active = 0;             /* REGISTRY_LOAD_CTX_NAME is set */

static char *dup_lua_string(lua_State *l, int idx) { /* luaGetStringSds: NULL unless a string or a number */
    if (!lua_isstring(l, idx)) return NULL;
    size_t n; const char *s = lua_tolstring(l, idx, &n);
    char *d = malloc(n + 1); memcpy(d, s, n); d[n] = 0; return d;
}
static int read_flags(lua_State *l, int *flags) { /* luaRegisterFunctionReadFlags */
    int j = 1, f = 0;
    for (;;) {
        lua_pushnumber(l, j++); lua_gettable(l, -2);
        int t = lua_type(l, -1);
        if (t == LUA_TNIL) { lua_pop(l, 1); break; }
        if (!lua_isstring(l, -1)) { lua_pop(l, 1); return -1; }
        const char *fs = lua_tostring(l, -1); int found = 0;
        for (int k = 0; script_flags_def[k].str; k++) if (!strcasecmp(script_flags_def[k].str, fs)) { f |= script_flags_def[k].flag; found = 1; break; }
        lua_pop(l, 1);
        if (!found) return -1;
    }
    *flags = f; return 0;
}
static int valid_name(const char *n) { /* functionsVerifyName */
    if (!*n) return 0;
    for (; *n; n++) { char c = *n; if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return 0; }
    return 1;
}
/* luaL_ref, not charged to the memory budget: how the registry grows depends on
 * the libraries this node loaded before (in log order, or by name from a snapshot). */
static int registry_ref(lua_State *l) { rl_nocount++; int r = luaL_ref(l, LUA_REGISTRYINDEX); rl_nocount--; return r; }
static int register_function(lua_State *l) { /* luaRegisterFunction */
    if (!load_active) { rl_push_error(l, "redis.register_function can only be called on FUNCTION LOAD command"); return lua_error(l); }
    const char *err = NULL; char *name = NULL, *desc = NULL; int ref = LUA_NOREF, flags = 0;
    int argc = lua_gettop(l);
    if (argc < 1 || argc > 2) { rl_push_error(l, "wrong number of arguments to redis.register_function"); return lua_error(l); }
    if (argc == 1) {
        if (!lua_istable(l, 1)) { err = "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."; goto error; }
        lua_pushnil(l);
        while (lua_next(l, -2)) {
            if (!lua_isstring(l, -2)) { err = "named argument key given to redis.register_function is not a string"; goto error; }
            const char *key = lua_tostring(l, -2);
            if (!strcasecmp(key, "function_name")) {
                free(name);
                if (!(name = dup_lua_string(l, -1))) { err = "function_name argument given to redis.register_function must be a string"; goto error; }
            } else if (!strcasecmp(key, "description")) {
                free(desc);
                if (!(desc = dup_lua_string(l, -1))) { err = "description argument given to redis.register_function must be a string"; goto error; }
            } else if (!strcasecmp(key, "callback")) {
                if (!lua_isfunction(l, -1)) { err = "callback argument given to redis.register_function must be a function"; goto error; }
                if (ref != LUA_NOREF) lua_unref(l, ref);
                ref = registry_ref(l);
                continue; /* luaL_ref popped the value */
            } else if (!strcasecmp(key, "flags")) {
                if (!lua_istable(l, -1)) { err = "flags argument to redis.register_function must be a table representing function flags"; goto error; }
                if (read_flags(l, &flags) != 0) { err = "unknown flag given"; goto error; }
            } else { err = "unknown argument given to redis.register_function"; goto error; }
            lua_pop(l, 1);
        }
        if (!name) { err = "redis.register_function must get a function name argument"; goto error; }
        if (ref == LUA_NOREF) { err = "redis.register_function must get a callback argument"; goto error; }
    } else {
        if (!(name = dup_lua_string(l, 1))) { err = "first argument to redis.register_function must be a string"; goto error; }
        if (!lua_isfunction(l, 2)) { err = "second argument to redis.register_function must be a function"; goto error; }
        ref = registry_ref(l);
    }
    /* functionLibCreateFunction (Redis 7.0.15's text for a bad function name) */
    if (!valid_name(name)) { err = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"; goto error; }
    for (int i = 0; i < load_nfns; i++) if (!strcmp(load_fns[i].name, name)) { err = "Function already exists in the library"; goto error; }
    if (load_nfns == load_cap) { load_cap = load_cap ? load_cap * 2 : 8; load_fns = realloc(load_fns, sizeof(reg_fn_t) * (size_t)load_cap); }
    load_fns[load_nfns++] = (reg_fn_t){ name, desc, ref, flags };
    return 0;
error:
    free(name); free(desc);
    if (ref != LUA_NOREF) lua_unref(l, ref);
    rl_push_error(l, err);
    return lua_error(l);
}
static void set_globals_index(lua_State *L, const char *registry_name) {
    lua_getmetatable(L, LUA_GLOBALSINDEX);
    lua_enablereadonlytable(L, -1, 0);
    lua_getfield(L, LUA_REGISTRYINDEX, registry_name);
    lua_setfield(L, -2, "__index");
    lua_enablereadonlytable(L, -1, 1);
    lua_pop(L, 1);
}
void rl_functions_init_api(lua_State *L) {
    lua_newtable(L); /* load library globals */
    lua_newtable(L); /* load library `redis` table */
    rl_setfn(L, "register_function", register_function);
    rl_setfn(L, "log", rl_redis_log);
    rl_setnum(L, "LOG_DEBUG", 0); rl_setnum(L, "LOG_VERBOSE", 1); rl_setnum(L, "LOG_NOTICE", 2); rl_setnum(L, "LOG_WARNING", 3);
    lua_pushstring(L, "REDIS_VERSION"); lua_pushstring(L, "7.0.15"); lua_settable(L, -3);
    rl_setnum(L, "REDIS_VERSION_NUM", 0x00070000 | 15);
    rl_set_error_metatable(L);
    lua_setfield(L, -2, "redis");
    rl_set_error_metatable(L);
    rl_protect_recursively(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LIBRARY_API_NAME);
}
void rl_functions_init_env(lua_State *L) {
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_setfield(L, LUA_REGISTRYINDEX, GLOBALS_API_NAME);
    lua_newtable(L); /* new globals */
    lua_newtable(L); /* its metatable */
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_setfield(L, -2, "__index");
    lua_enablereadonlytable(L, -1, 1);
    lua_setmetatable(L, -2);
    lua_enablereadonlytable(L, -1, 1);
    lua_replace(L, LUA_GLOBALSINDEX);
}
static void discard_load_fns(lua_State *L, int unref) {
    for (int i = 0; i < load_nfns; i++) { if (unref) lua_unref(L, load_fns[i].ref); free(load_fns[i].name); free(load_fns[i].desc); }
    load_nfns = 0;
}
static void bstr(buf_t *b, const char *s) { size_t n = strlen(s); bu32(b, (uint32_t)n); bput(b, s, n); }
/* luaEngineCreate: runs the library code in inbuf[0..len) (the code after the
 * shebang line, which is kept). 0 = ok, outbuf = [u32 n] then n x ([u32 ref]
 * [u32 flags][u32 has_desc][str name][str desc]), strings as [u32 len][bytes];
 * 1 = error, outbuf = the error text (without "-" and CRLF). */
EXPORT int rl_load_library(int len, double budget, double mbudget) {
    lua_State *L = rl_state();
    buf_t *out = rl_outbuf();
    out->len = 0;
    discard_load_fns(L, 0);
    set_globals_index(L, LIBRARY_API_NAME);
    int rc = 0;
    if (luaL_loadbuffer(L, rl_inbuf()->p, (size_t)len, "@user_function")) {
        const char *m = lua_tostring(L, -1);
        bputs(out, "Error compiling function: "); bputs(out, m ? m : "?");
        lua_pop(L, 1);
        rc = 1;
    } else {
        load_active = 1;
        rl_budget_begin(budget, "FUNCTION LOAD timeout"); /* luaEngineLoadHook, counted in instructions instead of 500 ms */
        rl_count_begin(mbudget);
        int err = lua_pcall(L, 0, 0, 0);
        rl_count_end();
        if (rl_mem_over()) {
            bputs(out, "Error registering functions: ERR Script exceeded its memory budget");
            if (err) lua_pop(L, 1);
            rc = 1;
        } else if (err) {
            /* luaExtractErrorInformation */
            bputs(out, "Error registering functions: ");
            if (lua_isstring(L, -1)) { bputs(out, "ERR "); bputs(out, lua_tostring(L, -1)); }
            else if (lua_istable(L, -1)) {
                lua_getfield(L, -1, "err");
                bputs(out, lua_isstring(L, -1) ? lua_tostring(L, -1) : "(null)");
                lua_pop(L, 1);
            } else bputs(out, "(null)");
            lua_pop(L, 1);
            rc = 1;
        }
        load_active = 0;
        rl_budget_end();
    }
    set_globals_index(L, GLOBALS_API_NAME);
    if (rc) { discard_load_fns(L, 1); return 1; }
    bu32(out, (uint32_t)load_nfns);
    for (int i = 0; i < load_nfns; i++) {
        bu32(out, (uint32_t)load_fns[i].ref); bu32(out, (uint32_t)load_fns[i].flags);
        bu32(out, load_fns[i].desc ? 1 : 0);
        bstr(out, load_fns[i].name); bstr(out, load_fns[i].desc ? load_fns[i].desc : "");
    }
    discard_load_fns(L, 0);
    return 0;
}
EXPORT void rl_unref(int ref) { lua_unref(rl_state(), ref); }
