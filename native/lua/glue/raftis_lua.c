/*
 * raftis_lua.c -- the Redis 7.0 scripting environment around Redis's own
 * Lua 5.1.5 (deps/lua of redis 7.0.15), compiled to WebAssembly.
 *
 * Modelled on redis/src/script_lua.c and redis/src/eval.c (BSD-3-Clause,
 * Copyright (c) 2009-2021 Salvatore Sanfilippo / Redis Ltd.). Everything that
 * needs the server (running a command, logging, ACL checks) is delegated to
 * the JavaScript host through ONE synchronous import, rl_host().
 *
 * Data crosses the boundary as bytes in linear memory:
 *   - redis.call args  -> JS : [u32 argc] then argc x ([u32 len][bytes])
 *   - JS reply -> Lua       : RESP2/RESP3 bytes (exactly what the command
 *                             handler wrote), parsed here like
 *                             redisProtocolToLuaType() does.
 *   - script result -> JS   : RESP bytes, built here like
 *                             luaReplyToRedisReply() does.
 *
 * Determinism: no clock, no libc rand(); math.random is Redis's rand48;
 * runaway scripts are stopped by an instruction budget charged by a
 * LUA_MASKCOUNT hook, and by a memory budget charged with what the script's
 * own operations allocate (both in raftis_budget.c); the heap as a whole is
 * bounded by a counting allocator (the process's safety net).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include <stdint.h>
#include <math.h>
#include <limits.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"
#include "sha1.h"
#include "raftis_lua.h"
#include "lstate.h"
#include "ldebug.h"

/* ---- host import (implemented in JS, see lua51.mjs) ---------------------- */
/* kind: 0 = redis.call / redis.pcall, 1 = redis.log, 2 = redis.acl_check_cmd,
 *       3 = redis.set_repl, 4 = redis.setresp
 * Returns: for kind 0: 0 = RESP reply, 1 = script error string (scriptCall's
 * err, e.g. "Unknown Redis command called from script"); reply bytes are in
 * the reply buffer (rl_reply_buf). For kind 2: 1 allowed, 0 denied, -1 unknown
 * command. */
extern int rl_host(int kind, const char *buf, int len);

static buf_t argbuf;    /* redis.call args to JS */
static buf_t replybuf;  /* host reply (RESP) from JS */
static buf_t outbuf;    /* script result (RESP) to JS */
static buf_t inbuf;     /* KEYS/ARGV/script body from JS */

EXPORT char *rl_reply_buf(int n) { replybuf.len = 0; bgrow(&replybuf, (size_t)n + 1); replybuf.len = n; replybuf.p[n] = 0; return replybuf.p; }
EXPORT char *rl_in_buf(int n) { inbuf.len = 0; bgrow(&inbuf, (size_t)n + 1); inbuf.len = n; return inbuf.p; }
static char namebuf[64];
EXPORT char *rl_name_buf(void) { return namebuf; }
EXPORT char *rl_out_ptr(void) { return outbuf.p; }
EXPORT int rl_out_len(void) { return (int)outbuf.len; }

/* ---- state ---------------------------------------------------------------- */
static lua_State *L = NULL;
static size_t mem_used = 0, mem_limit = 0, mem_peak = 0;
static int in_script = 0;                  /* redis.call etc only inside a script */
static int script_resp = 2;                /* redis.setresp() */
static int client_resp = 2;                /* protocol of the calling client */
/* The error handler (a protected global: it never changes) and the script
 * rl_eval ran last, registry[eval_fn_name], held by reference too: pushed
 * with lua_rawgeti instead of a lookup by name, which hashed and compared
 * the 42-byte "f_<sha>" (and the handler's name) on every script. */
static int errh_ref = LUA_NOREF;
static int eval_fn_ref = LUA_NOREF;
static char eval_fn_name[64];


/* x86-64 semantics of (long long)d: out of range / NaN -> LLONG_MIN */
static long long d2ll(double d) {
    if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) return (long long)d;
    return LLONG_MIN;
}

static void *rl_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    (void)ud;
    if (nsize == 0) { free(ptr); mem_used -= osize; return NULL; }
    if (nsize > osize && mem_limit && mem_used - osize + nsize > mem_limit) return NULL;
    void *np = realloc(ptr, nsize);
    if (np) { mem_used = mem_used - osize + nsize; if (mem_used > mem_peak) mem_peak = mem_used; }
    return np;
}

/* ---- errors as Redis builds them (luaPushErrorBuff) ------------------------ */
static void push_error_buff(lua_State *l, const char *err, size_t len) {
    const char *code = "ERR"; size_t codelen = 3;
    const char *msg = err; size_t msglen = len;
    if (len && err[0] == '-') {
        const char *sp = memchr(err, ' ', len);
        if (!sp) { msg = err + 1; msglen = len - 1; }
        else { code = err + 1; codelen = (size_t)(sp - err - 1); msg = sp + 1; msglen = len - (size_t)(sp + 1 - err); }
    }
    /* sdstrim(msg, "\r\n") */
    while (msglen && (msg[0] == '\r' || msg[0] == '\n')) { msg++; msglen--; }
    while (msglen && (msg[msglen-1] == '\r' || msg[msglen-1] == '\n')) msglen--;
    luaL_Buffer b;
    lua_newtable(l);
    lua_pushstring(l, "err");
    luaL_buffinit(l, &b);
    luaL_addlstring(&b, code, codelen);
    luaL_addchar(&b, ' ');
    luaL_addlstring(&b, msg, msglen);
    luaL_pushresult(&b);
    lua_settable(l, -3);
}
static void push_error(lua_State *l, const char *e) { push_error_buff(l, e, strlen(e)); }

/* ---- RESP -> Lua (redisProtocolToLuaType) -------------------------------- */
static const char *resp_to_lua(lua_State *l, const char *p, int push);
static long long rd_ll(const char **pp) {
    const char *p = *pp; int neg = 0; long long v = 0;
    if (*p == '-') { neg = 1; p++; } else if (*p == '+') p++;
    while (*p >= '0' && *p <= '9') { v = v * 10 + (*p - '0'); p++; }
    *pp = p + 2; /* skip \r\n */
    return neg ? -v : v;
}
static const char *line_end(const char *p) { const char *e = strstr(p, "\r\n"); return e; }
static void stack_guard(lua_State *l, int n) {
    if (!lua_checkstack(l, n)) { push_error(l, "lua stack limit reach when parsing redis.call reply"); lua_error(l); }
}
static const char *resp_to_lua(lua_State *l, const char *p, int push) {
    char t = *p++;
    switch (t) {
    case ':': { long long v = rd_ll(&p); if (push) { stack_guard(l, 1); lua_pushnumber(l, (lua_Number)v); } return p; }
    case '$': {
        long long n = rd_ll(&p);
        if (n < 0) { if (push) { stack_guard(l, 1); lua_pushboolean(l, 0); } return p; }
        if (push) { stack_guard(l, 1); lua_pushlstring(l, p, (size_t)n); }
        return p + n + 2;
    }
    case '+': {
        const char *e = line_end(p);
        if (push) { stack_guard(l, 3); lua_newtable(l); lua_pushstring(l, "ok"); lua_pushlstring(l, p, (size_t)(e - p)); lua_settable(l, -3); }
        return e + 2;
    }
    case '-': {
        const char *e = line_end(p);
        if (push) {
            stack_guard(l, 3);
            size_t n = (size_t)(e - p);
            char *tmp = malloc(n + 2); tmp[0] = '-'; memcpy(tmp + 1, p, n); tmp[n + 1] = 0;
            push_error_buff(l, tmp, n + 1); free(tmp);
            lua_pushstring(l, "ignore_error_stats_update"); lua_pushboolean(l, 1); lua_settable(l, -3);
        }
        return e + 2;
    }
    case '*': case '>': {
        long long n = rd_ll(&p);
        if (n < 0) { if (push) { stack_guard(l, 1); lua_pushboolean(l, 0); } return p; }
        if (push) { stack_guard(l, 2); lua_newtable(l); }
        for (long long j = 0; j < n; j++) {
            if (push) lua_pushnumber(l, (lua_Number)(j + 1));
            p = resp_to_lua(l, p, push);
            if (push) lua_settable(l, -3);
        }
        return p;
    }
    case '%': {
        long long n = rd_ll(&p);
        if (push) { stack_guard(l, 3); lua_newtable(l); lua_pushstring(l, "map"); lua_newtable(l); }
        for (long long j = 0; j < n; j++) {
            p = resp_to_lua(l, p, push); p = resp_to_lua(l, p, push);
            if (push) lua_settable(l, -3);
        }
        if (push) lua_settable(l, -3);
        return p;
    }
    case '~': {
        long long n = rd_ll(&p);
        if (push) { stack_guard(l, 3); lua_newtable(l); lua_pushstring(l, "set"); lua_newtable(l); }
        for (long long j = 0; j < n; j++) {
            p = resp_to_lua(l, p, push);
            if (push) { stack_guard(l, 1); lua_pushboolean(l, 1); lua_settable(l, -3); }
        }
        if (push) lua_settable(l, -3);
        return p;
    }
    case '|': {
        long long n = rd_ll(&p);
        for (long long j = 0; j < n; j++) { p = resp_to_lua(l, p, 0); p = resp_to_lua(l, p, 0); }
        return resp_to_lua(l, p, push);
    }
    case '_': if (push) { stack_guard(l, 1); lua_pushnil(l); } return p + 2;
    case '#': if (push) { stack_guard(l, 1); lua_pushboolean(l, *p == 't'); } return p + 3;
    case ',': {
        const char *e = line_end(p);
        char tmp[128]; size_t n = (size_t)(e - p); if (n > 127) n = 127; memcpy(tmp, p, n); tmp[n] = 0;
        double d = (strcmp(tmp, "inf") == 0) ? INFINITY : (strcmp(tmp, "-inf") == 0) ? -INFINITY : strtod(tmp, NULL);
        if (push) { stack_guard(l, 3); lua_newtable(l); lua_pushstring(l, "double"); lua_pushnumber(l, d); lua_settable(l, -3); }
        return e + 2;
    }
    case '(': {
        const char *e = line_end(p);
        if (push) { stack_guard(l, 3); lua_newtable(l); lua_pushstring(l, "big_number"); lua_pushlstring(l, p, (size_t)(e - p)); lua_settable(l, -3); }
        return e + 2;
    }
    case '=': {
        long long n = rd_ll(&p);
        if (push) {
            stack_guard(l, 5);
            lua_newtable(l); lua_pushstring(l, "verbatim_string"); lua_newtable(l);
            lua_pushstring(l, "string"); lua_pushlstring(l, p + 4, (size_t)(n - 4)); lua_settable(l, -3);
            lua_pushstring(l, "format"); lua_pushlstring(l, p, 3); lua_settable(l, -3);
            lua_settable(l, -3);
        }
        return p + n + 2;
    }
    default:
        if (push) lua_pushnil(l);
        return p;
    }
}

/* ---- Lua -> RESP (luaReplyToRedisReply) ------------------------------------ */
static void bput_mapped(buf_t *b, const char *s, size_t n) { /* sdsmapchars "\r\n" -> "  " */
    bgrow(b, n);
    for (size_t i = 0; i < n; i++) { char c = s[i]; b->p[b->len++] = (c == '\r' || c == '\n') ? ' ' : c; }
}
static void reply_error_fmt(buf_t *b, const char *s, size_t n) { /* addReplyErrorFormat("-%s"...) path: trim + map */
    while (n && (s[0] == '\r' || s[0] == '\n')) { s++; n--; }
    while (n && (s[n-1] == '\r' || s[n-1] == '\n')) n--;
    if (!n || s[0] != '-') bput(b, "-ERR ", 5);
    bput_mapped(b, s, n);
    bput(b, "\r\n", 2);
}
static void reply_null(buf_t *b) { if (client_resp == 2) bput(b, "$-1\r\n", 5); else bput(b, "_\r\n", 3); }
static void reply_bulk(buf_t *b, const char *s, size_t n) { bhdr(b, '$', (long long)n); bput(b, s, n); bput(b, "\r\n", 2); }
static void reply_double(buf_t *b, double d) {
    char t[64]; int n;
    if (isinf(d)) { if (client_resp == 2) reply_bulk(b, d > 0 ? "inf" : "-inf", d > 0 ? 3 : 4); else bputs(b, d > 0 ? ",inf\r\n" : ",-inf\r\n"); return; }
    n = snprintf(t, sizeof t, "%.17g", d);
    if (client_resp == 2) reply_bulk(b, t, (size_t)n); else { bput(b, ",", 1); bput(b, t, (size_t)n); bput(b, "\r\n", 2); }
}

static void lua_to_resp(lua_State *l, buf_t *b) {
    int t = lua_type(l, -1);
    if (!lua_checkstack(l, 4)) { reply_error_fmt(b, "reached lua stack limit", 23); lua_pop(l, 1); return; }
    switch (t) {
    case LUA_TSTRING: { size_t n; const char *s = lua_tolstring(l, -1, &n); reply_bulk(b, s, n); break; }
    case LUA_TBOOLEAN:
        if (script_resp == 2) { if (lua_toboolean(l, -1)) bput(b, ":1\r\n", 4); else reply_null(b); }
        else { if (client_resp == 2) bput(b, lua_toboolean(l, -1) ? ":1\r\n" : ":0\r\n", 4); else bput(b, lua_toboolean(l, -1) ? "#t\r\n" : "#f\r\n", 4); }
        break;
    case LUA_TNUMBER: bhdr(b, ':', d2ll(lua_tonumber(l, -1))); break;
    case LUA_TTABLE: {
        lua_pushstring(l, "err"); lua_rawget(l, -2);
        if (lua_type(l, -1) == LUA_TSTRING) {
            lua_pop(l, 1);
            lua_getfield(l, -1, "err"); /* luaExtractErrorInformation */
            size_t n; const char *s = lua_tolstring(l, -1, &n);
            buf_t tmp = {0}; bput(&tmp, "-", 1); bput(&tmp, s, n);
            reply_error_fmt(b, tmp.p, tmp.len); free(tmp.p);
            lua_pop(l, 2);
            return;
        }
        lua_pop(l, 1);
        lua_pushstring(l, "ok"); lua_rawget(l, -2);
        if (lua_type(l, -1) == LUA_TSTRING) {
            const char *s = lua_tostring(l, -1); /* addReplyStatusSafe uses C string */
            bput(b, "+", 1); bput_mapped(b, s, strlen(s)); bput(b, "\r\n", 2);
            lua_pop(l, 2); return;
        }
        lua_pop(l, 1);
        lua_pushstring(l, "double"); lua_rawget(l, -2);
        if (lua_type(l, -1) == LUA_TNUMBER) { reply_double(b, lua_tonumber(l, -1)); lua_pop(l, 2); return; }
        lua_pop(l, 1);
        lua_pushstring(l, "big_number"); lua_rawget(l, -2);
        if (lua_type(l, -1) == LUA_TSTRING) {
            size_t n; const char *s = lua_tolstring(l, -1, &n);
            if (client_resp == 2) { bhdr(b, '$', (long long)n); bput_mapped(b, s, n); bput(b, "\r\n", 2); }
            else { bput(b, "(", 1); bput_mapped(b, s, n); bput(b, "\r\n", 2); }
            lua_pop(l, 2); return;
        }
        lua_pop(l, 1);
        lua_pushstring(l, "verbatim_string"); lua_rawget(l, -2);
        if (lua_type(l, -1) == LUA_TTABLE) {
            lua_pushstring(l, "format"); lua_rawget(l, -2);
            if (lua_type(l, -1) == LUA_TSTRING) {
                const char *fmt = lua_tostring(l, -1);
                lua_pushstring(l, "string"); lua_rawget(l, -3);
                if (lua_type(l, -1) == LUA_TSTRING) {
                    size_t n; const char *s = lua_tolstring(l, -1, &n);
                    if (client_resp == 2) reply_bulk(b, s, n);
                    else { char h[40]; int hl = snprintf(h, sizeof h, "=%zu\r\n", n + 4); bput(b, h, hl);
                        for (int i = 0; i < 3; i++) { char c = *fmt ? *fmt++ : ' '; bput(b, &c, 1); }
                        bput(b, ":", 1); bput(b, s, n); bput(b, "\r\n", 2); }
                    lua_pop(l, 4); return;
                }
                lua_pop(l, 1);
            }
            lua_pop(l, 1);
        }
        lua_pop(l, 1);
        lua_pushstring(l, "map"); lua_rawget(l, -2);
        if (lua_type(l, -1) == LUA_TTABLE) {
            long long n = 0;
            lua_pushnil(l); while (lua_next(l, -2)) { n++; lua_pop(l, 1); }
            if (client_resp == 2) bhdr(b, '*', n * 2); else bhdr(b, '%', n);
            lua_pushnil(l);
            while (lua_next(l, -2)) { lua_pushvalue(l, -2); lua_to_resp(l, b); lua_to_resp(l, b); }
            lua_pop(l, 2); return;
        }
        lua_pop(l, 1);
        lua_pushstring(l, "set"); lua_rawget(l, -2);
        if (lua_type(l, -1) == LUA_TTABLE) {
            long long n = 0;
            lua_pushnil(l); while (lua_next(l, -2)) { n++; lua_pop(l, 1); }
            bhdr(b, client_resp == 2 ? '*' : '~', n);
            lua_pushnil(l);
            while (lua_next(l, -2)) { lua_pop(l, 1); lua_pushvalue(l, -1); lua_to_resp(l, b); }
            lua_pop(l, 2); return;
        }
        lua_pop(l, 1);
        { /* array */
            long long n = 0;
            for (int j = 1;; j++) { lua_pushnumber(l, j); lua_rawget(l, -2); int tt = lua_type(l, -1); lua_pop(l, 1); if (tt == LUA_TNIL) break; n++; }
            bhdr(b, '*', n);
            for (long long j = 1; j <= n; j++) { lua_pushnumber(l, (lua_Number)j); lua_rawget(l, -2); lua_to_resp(l, b); }
        }
        break;
    }
    default: reply_null(b);
    }
    lua_pop(l, 1);
}

/* ---- redis.* -------------------------------------------------------------- */
static int redis_generic(lua_State *l, int raise_error) {
    if (!in_script) { push_error(l, "redis.call/pcall can only be called inside a script invocation"); return lua_error(l); }
    int argc = lua_gettop(l), j;
    if (argc == 0) { push_error(l, "Please specify at least one argument for this redis lib call"); return raise_error ? lua_error(l) : 1; }
    argbuf.len = 0; bu32(&argbuf, (uint32_t)argc);
    for (j = 0; j < argc; j++) {
        char dbuf[64]; const char *s; size_t n;
        if (lua_type(l, j + 1) == LUA_TNUMBER) { n = (size_t)snprintf(dbuf, sizeof dbuf, "%.17g", (double)lua_tonumber(l, j + 1)); s = dbuf; }
        else { s = lua_tolstring(l, j + 1, &n); if (!s) break; }
        bu32(&argbuf, (uint32_t)n); bput(&argbuf, s, n);
    }
    lua_pop(l, argc);
    if (j != argc) { push_error(l, "Lua redis lib command arguments must be strings or integers"); return raise_error ? lua_error(l) : 1; }
    int rc = rl_host(0, argbuf.p, (int)argbuf.len);
    if (rc == 2) { rl_kill_now(l); return 0; } /* refused before it ran (see rl_kill_now): the next instruction raises the kill */
    if (rc == 1) { /* scriptCall error */
        push_error_buff(l, replybuf.p, replybuf.len);
        lua_pushstring(l, "ignore_error_stats_update"); lua_pushboolean(l, 1); lua_settable(l, -3);
        return raise_error ? lua_error(l) : 1;
    }
    if (raise_error && replybuf.p[0] != '-') raise_error = 0;
    resp_to_lua(l, replybuf.p, 1);
    if (raise_error) return lua_error(l);
    return 1;
}
static int redis_call(lua_State *l) { return redis_generic(l, 1); }
static int redis_pcall_cmd(lua_State *l) { return redis_generic(l, 0); }

static int redis_lua_pcall(lua_State *l) { /* luaRedisPcall */
    int argc = lua_gettop(l);
    lua_pushboolean(l, 1); lua_insert(l, 1);
    if (lua_pcall(l, argc - 1, LUA_MULTRET, 0)) {
        lua_remove(l, 1);
        if (lua_istable(l, -1)) { lua_getfield(l, -1, "err"); if (lua_isstring(l, -1)) lua_replace(l, -2); else lua_pop(l, 1); }
        lua_pushboolean(l, 0); lua_insert(l, 1);
    }
    return lua_gettop(l);
}

static void sha1hex(char *digest, const char *s, size_t len) {
    SHA1_CTX ctx; unsigned char hash[20]; const char *cset = "0123456789abcdef";
    SHA1Init(&ctx); SHA1Update(&ctx, (const unsigned char *)s, (uint32_t)len); SHA1Final(hash, &ctx);
    for (int j = 0; j < 20; j++) { digest[j*2] = cset[(hash[j]&0xF0)>>4]; digest[j*2+1] = cset[hash[j]&0xF]; }
    digest[40] = 0;
}
static int redis_sha1hex(lua_State *l) {
    if (lua_gettop(l) != 1) { push_error(l, "wrong number of arguments"); return lua_error(l); }
    size_t len; const char *s = lua_tolstring(l, 1, &len); char d[41];
    sha1hex(d, s ? s : "", s ? len : 0); lua_pushstring(l, d); return 1;
}
static int redis_error_reply(lua_State *l) {
    if (lua_gettop(l) != 1 || lua_type(l, -1) != LUA_TSTRING) { push_error(l, "wrong number or type of arguments"); return 1; }
    const char *e = lua_tostring(l, -1);
    if (e[0] != '-') { buf_t t = {0}; bput(&t, "-", 1); bputs(&t, e); push_error_buff(l, t.p, t.len); free(t.p); }
    else push_error_buff(l, e, strlen(e));
    return 1;
}
static int redis_status_reply(lua_State *l) {
    if (lua_gettop(l) != 1 || lua_type(l, -1) != LUA_TSTRING) { push_error(l, "wrong number or type of arguments"); return 1; }
    lua_newtable(l); lua_pushstring(l, "ok"); lua_pushvalue(l, -3); lua_settable(l, -3); return 1;
}
static int redis_log(lua_State *l) {
    int argc = lua_gettop(l);
    if (argc < 2) { push_error(l, "redis.log() requires two arguments or more."); return lua_error(l); }
    if (!lua_isnumber(l, -argc)) { push_error(l, "First argument must be a number (log level)."); return lua_error(l); }
    int level = (int)lua_tonumber(l, -argc);
    if (level < 0 || level > 3) { push_error(l, "Invalid debug level."); return lua_error(l); }
    argbuf.len = 0; bu32(&argbuf, (uint32_t)level);
    buf_t m = {0};
    for (int j = 1; j < argc; j++) { size_t n; const char *s = lua_tolstring(l, (-argc) + j, &n); if (s) { if (j != 1) bput(&m, " ", 1); bput(&m, s, n); } }
    bu32(&argbuf, (uint32_t)m.len); if (m.len) bput(&argbuf, m.p, m.len); free(m.p);
    rl_host(1, argbuf.p, (int)argbuf.len);
    return 0;
}
static int redis_setresp(lua_State *l) {
    if (!in_script) { push_error(l, "redis.setresp can only be called inside a script invocation"); return lua_error(l); }
    int argc = lua_gettop(l);
    if (argc != 1) { push_error(l, "redis.setresp() requires one argument."); return lua_error(l); }
    int resp = (int)lua_tonumber(l, -argc);
    if (resp != 2 && resp != 3) { push_error(l, "RESP version must be 2 or 3."); return lua_error(l); }
    script_resp = resp;
    argbuf.len = 0; bu32(&argbuf, (uint32_t)resp); rl_host(4, argbuf.p, (int)argbuf.len);
    return 0;
}
static int redis_set_repl(lua_State *l) {
    if (!in_script) { push_error(l, "redis.set_repl can only be called inside a script invocation"); return lua_error(l); }
    if (lua_gettop(l) != 1) { push_error(l, "redis.set_repl() requires two arguments."); return lua_error(l); }
    int flags = (int)lua_tonumber(l, -1);
    if ((flags & ~3) != 0) { push_error(l, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."); return lua_error(l); }
    argbuf.len = 0; bu32(&argbuf, (uint32_t)flags); rl_host(3, argbuf.p, (int)argbuf.len);
    return 0;
}
static int redis_acl_check_cmd(lua_State *l) {
    if (!in_script) { push_error(l, "redis.acl_check_cmd can only be called inside a script invocation"); return lua_error(l); }
    int argc = lua_gettop(l), j;
    if (argc == 0) { push_error(l, "Please specify at least one argument for this redis lib call"); return lua_error(l); }
    argbuf.len = 0; bu32(&argbuf, (uint32_t)argc);
    for (j = 0; j < argc; j++) {
        char dbuf[64]; const char *s; size_t n;
        if (lua_type(l, j + 1) == LUA_TNUMBER) { n = (size_t)snprintf(dbuf, sizeof dbuf, "%.17g", (double)lua_tonumber(l, j + 1)); s = dbuf; }
        else { s = lua_tolstring(l, j + 1, &n); if (!s) break; }
        bu32(&argbuf, (uint32_t)n); bput(&argbuf, s, n);
    }
    lua_pop(l, argc);
    if (j != argc) { push_error(l, "Lua redis lib command arguments must be strings or integers"); return lua_error(l); }
    int rc = rl_host(2, argbuf.p, (int)argbuf.len);
    if (rc < 0) { push_error(l, "Invalid command passed to redis.acl_check_cmd()"); return lua_error(l); }
    lua_pushboolean(l, rc); return 1;
}
static int redis_breakpoint(lua_State *l) { lua_pushboolean(l, 0); return 1; }
static int redis_debug(lua_State *l) { (void)l; return 0; }
static int redis_replicate_commands(lua_State *l) { lua_pushboolean(l, 1); return 1; }

/* math.random / math.randomseed with Redis's rand48 (rand.c) */
int32_t redisLrand48(void);
void redisSrand48(int32_t seedval);
#define REDIS_LRAND48_MAX INT32_MAX
static int redis_math_random(lua_State *l) {
    if (!in_script) return luaL_error(l, "math.random can only be called inside a script invocation");
    lua_Number r = (lua_Number)(redisLrand48() % REDIS_LRAND48_MAX) / (lua_Number)REDIS_LRAND48_MAX;
    switch (lua_gettop(l)) {
    case 0: lua_pushnumber(l, r); break;
    case 1: { int u = luaL_checkint(l, 1); luaL_argcheck(l, 1 <= u, 1, "interval is empty"); lua_pushnumber(l, floor(r * u) + 1); break; }
    case 2: { int lo = luaL_checkint(l, 1); int u = luaL_checkint(l, 2); luaL_argcheck(l, lo <= u, 2, "interval is empty"); lua_pushnumber(l, floor(r * (u - lo + 1)) + lo); break; }
    default: return luaL_error(l, "wrong number of arguments");
    }
    return 1;
}
static int redis_math_randomseed(lua_State *l) {
    if (!in_script) return luaL_error(l, "math.randomseed can only be called inside a script invocation");
    redisSrand48(luaL_checkint(l, 1)); return 0;
}

/* ---- globals protection (script_lua.c) ------------------------------------ */
static const char *allow_list[] = {
    "string", "cjson", "bit", "cmsgpack", "math", "table", "struct",
    "redis", "__redis__err__handler",
    "xpcall", "tostring", "setmetatable", "next", "assert", "tonumber", "rawequal", "collectgarbage",
    "getmetatable", "rawset", "pcall", "coroutine", "type", "_G", "select", "unpack", "gcinfo", "pairs",
    "rawget", "loadstring", "ipairs", "_VERSION", "load", "error",
    "debug", NULL };
static int protected_table_error(lua_State *l) {
    if (lua_gettop(l) != 2) luaL_error(l, "Wrong number of arguments to luaProtectedTableError");
    if (!lua_isstring(l, -1) && !lua_isnumber(l, -1)) luaL_error(l, "Second argument to luaProtectedTableError must be a string or number");
    const char *name = lua_tostring(l, -1);
    luaL_error(l, "Script attempted to access nonexistent global variable '%s'", name);
    return 0;
}
static int newindex_allow_list(lua_State *l) {
    if (lua_gettop(l) != 3) luaL_error(l, "Wrong number of arguments to luaNewIndexAllowList");
    if (!lua_istable(l, -3)) luaL_error(l, "first argument to luaNewIndexAllowList must be a table");
    if (!lua_isstring(l, -2) && !lua_isnumber(l, -2)) luaL_error(l, "Second argument to luaNewIndexAllowList must be a string or number");
    const char *name = lua_tostring(l, -2);
    for (const char **c = allow_list; *c; c++) if (strcmp(*c, name) == 0) { lua_rawset(l, -3); return 0; }
    /* newproxy/setfenv/getfenv (lua-enable-deprecated-api=no), dofile/loadfile/print: dropped */
    return 0;
}
static void protect_recursively(lua_State *l) {
    if (lua_isreadonlytable(l, -1)) return;
    lua_enablereadonlytable(l, -1, 1);
    lua_checkstack(l, 2);
    lua_pushnil(l);
    while (lua_next(l, -2)) { if (lua_istable(l, -1)) protect_recursively(l); lua_pop(l, 1); }
    if (lua_getmetatable(l, -1)) { protect_recursively(l); lua_pop(l, 1); }
}
static void protect_basic_types(lua_State *l) {
    for (int i = 0; i < 7; i++) {
        switch (i) {
        case 0: lua_pushstring(l, ""); break; case 1: lua_pushnumber(l, 0); break; case 2: lua_pushboolean(l, 0); break;
        case 3: lua_pushnil(l); break; case 4: lua_pushcfunction(l, NULL); break; case 5: lua_newthread(l); break;
        case 6: lua_pushlightuserdata(l, (void *)l); break;
        }
        if (lua_getmetatable(l, -1)) { protect_recursively(l); lua_pop(l, 1); }
        lua_pop(l, 1);
    }
}

int luaopen_cjson(lua_State *L); int luaopen_struct(lua_State *L); int luaopen_cmsgpack(lua_State *L); int luaopen_bit(lua_State *L);
static void load_lib(lua_State *l, const char *name, lua_CFunction f) { lua_pushcfunction(l, f); lua_pushstring(l, name); lua_call(l, 1, 0); }
static void setfn(lua_State *l, const char *k, lua_CFunction f) { lua_pushstring(l, k); lua_pushcfunction(l, f); lua_settable(l, -3); }
static void setnum(lua_State *l, const char *k, double v) { lua_pushstring(l, k); lua_pushnumber(l, v); lua_settable(l, -3); }

static const char *ERRH = RL_ERRH_HEAD "function __redis__err__handler(err)\n" RL_ERRH_BODY;

/* ---- what raftis_functions.c shares (raftis_lua.h) ---------------------- */
lua_State *rl_state(void) { return L; }
buf_t *rl_outbuf(void) { return &outbuf; }
buf_t *rl_inbuf(void) { return &inbuf; }
void rl_push_error(lua_State *l, const char *e) { push_error(l, e); }
void rl_set_error_metatable(lua_State *l) {
    lua_newtable(l); lua_pushcfunction(l, protected_table_error); lua_setfield(l, -2, "__index"); lua_setmetatable(l, -2);
}
void rl_protect_recursively(lua_State *l) { protect_recursively(l); }
int rl_redis_log(lua_State *l) { return redis_log(l); }
void rl_setfn(lua_State *l, const char *k, lua_CFunction f) { setfn(l, k, f); }
void rl_setnum(lua_State *l, const char *k, double v) { setnum(l, k, v); }

static int co_yield(lua_State *l);
static int co_running(lua_State *l);
static int paused;

/* Create the VM: scriptingInit() + luaRegisterRedisAPI(). */
EXPORT int rl_init(double limit_bytes, int functions_mode) {
    mem_limit = (size_t)limit_bytes;
    errh_ref = LUA_NOREF; eval_fn_ref = LUA_NOREF;
    L = lua_newstate(rl_alloc, NULL);
    if (!L) return -1;
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_newtable(L); lua_pushcfunction(L, newindex_allow_list); lua_setfield(L, -2, "__newindex"); lua_setmetatable(L, -2);
    lua_pop(L, 1);
    load_lib(L, "", luaopen_base);
    load_lib(L, LUA_TABLIBNAME, luaopen_table);
    load_lib(L, LUA_STRLIBNAME, luaopen_string);
    load_lib(L, LUA_MATHLIBNAME, luaopen_math);
    load_lib(L, LUA_DBLIBNAME, luaopen_debug);
    load_lib(L, "cjson", luaopen_cjson);
    load_lib(L, "struct", luaopen_struct);
    load_lib(L, "cmsgpack", luaopen_cmsgpack);
    load_lib(L, "bit", luaopen_bit);
    lua_pushcfunction(L, redis_lua_pcall); lua_setglobal(L, "pcall");
    lua_getglobal(L, "coroutine");
    lua_pushcfunction(L, co_yield); lua_setfield(L, -2, "yield");
    lua_pushcfunction(L, co_running); lua_setfield(L, -2, "running");
    lua_pop(L, 1);
    lua_newtable(L);
    setfn(L, "call", redis_call); setfn(L, "pcall", redis_pcall_cmd);
    setfn(L, "log", redis_log);
    setnum(L, "LOG_DEBUG", 0); setnum(L, "LOG_VERBOSE", 1); setnum(L, "LOG_NOTICE", 2); setnum(L, "LOG_WARNING", 3);
    setnum(L, "REDIS_VERSION_NUM", 0x00070000 | 15); /* 7.0.15; raftis would put its own compatibility version */
    lua_pushstring(L, "REDIS_VERSION"); lua_pushstring(L, "7.0.15"); lua_settable(L, -3);
    setfn(L, "setresp", redis_setresp); setfn(L, "sha1hex", redis_sha1hex);
    setfn(L, "error_reply", redis_error_reply); setfn(L, "status_reply", redis_status_reply);
    setfn(L, "set_repl", redis_set_repl);
    setnum(L, "REPL_NONE", 0); setnum(L, "REPL_AOF", 1); setnum(L, "REPL_SLAVE", 2); setnum(L, "REPL_REPLICA", 2); setnum(L, "REPL_ALL", 3);
    setfn(L, "acl_check_cmd", redis_acl_check_cmd);
    lua_setglobal(L, "redis");
    lua_getglobal(L, "math");
    setfn(L, "random", redis_math_random); setfn(L, "randomseed", redis_math_randomseed);
    lua_setglobal(L, "math");
    lua_getglobal(L, "redis");
    setfn(L, "breakpoint", redis_breakpoint); setfn(L, "debug", redis_debug); setfn(L, "replicate_commands", redis_replicate_commands);
    lua_setglobal(L, "redis");
    if (functions_mode) {
        /* function_lua.c: the error handler lives in the registry, not in a global */
        lua_pushstring(L, REGISTRY_ERROR_HANDLER_NAME);
        luaL_loadbuffer(L, RL_ERRH_FUNCTIONS, strlen(RL_ERRH_FUNCTIONS), "@err_handler_def");
        lua_pcall(L, 0, 1, 0);
        lua_settable(L, LUA_REGISTRYINDEX);
    } else {
        luaL_loadbuffer(L, ERRH, strlen(ERRH), "@err_handler_def");
        lua_pcall(L, 0, 0, 0);
    }
    if (functions_mode) rl_functions_init_api(L);
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    rl_set_error_metatable(L);
    protect_recursively(L);
    lua_pop(L, 1);
    protect_basic_types(L);
    if (functions_mode) rl_functions_init_env(L);
    return 0;
}

EXPORT void rl_close(void) { if (L) lua_close(L); L = NULL; }
EXPORT double rl_mem_used(void) { return (double)mem_used; }
EXPORT double rl_mem_peak(void) { double p = (double)mem_peak; mem_peak = mem_used; return p; }
EXPORT void rl_set_mem_limit(double lim) { mem_limit = (size_t)lim; }
EXPORT void rl_gc(void) { if (!paused) lua_gc(L, LUA_GCCOLLECT, 0); }
EXPORT void rl_srand(int seed) { redisSrand48(seed); }
int rl_heap_near(size_t extra) { return mem_limit && mem_used + extra > mem_limit; }


/* Compile a script body (inbuf[0..len)) into registry["f_<sha>"]. 0 = ok;
 * else outbuf holds the complete RESP error reply. */
EXPORT int rl_load(const char *fname, int len) {
    outbuf.len = 0;
    if (paused) return 2;
    if (luaL_loadbuffer(L, inbuf.p, (size_t)len, "@user_script")) {
        const char *m = lua_tostring(L, -1);
        buf_t t = {0}; bputs(&t, "Error compiling script (new function): "); bputs(&t, m ? m : "?");
        reply_error_fmt(&outbuf, t.p, t.len); free(t.p);
        lua_pop(L, 1);
        return 1;
    }
    size_t saved_limit = mem_limit; mem_limit = 0;
    lua_setfield(L, LUA_REGISTRYINDEX, fname);
    /* rl_eval's reference to the function of that name, if any, is stale now. */
    if (eval_fn_ref != LUA_NOREF && strcmp(fname, eval_fn_name) == 0) { luaL_unref(L, LUA_REGISTRYINDEX, eval_fn_ref); eval_fn_ref = LUA_NOREF; }
    mem_limit = saved_limit;
    return 0;
}
EXPORT int rl_has(const char *fname) {
    lua_getfield(L, LUA_REGISTRYINDEX, fname); int r = !lua_isnil(L, -1); lua_pop(L, 1); return r;
}



static void create_array(lua_State *l, const char **pp, uint32_t n) {
    const char *p = *pp;
    lua_createtable(l, (int)n, 0);
    for (uint32_t j = 0; j < n; j++) { uint32_t len; memcpy(&len, p, 4); p += 4; lua_pushlstring(l, p, len); p += len; lua_rawseti(l, -2, (int)j + 1); }
    *pp = p;
}

/* A script runs on a coroutine (script_co), so that the count hook can pause
 * it (raftis_budget.c): rl_eval / rl_fcall return 3 ("paused") and
 * rl_resume continues it. The coroutine is reused while scripts end normally;
 * one that died of an error is dropped (its stack is where the error handler
 * runs, see script_done). */
#define SCRIPT_THREAD_KEY "__rl_script_thread"
static lua_State *script_co = NULL;
static int paused = 0;                 /* a script is paused: nothing else may run in this VM */
static char run_display[64];           /* the running script's name, for its errors */
static size_t run_saved_limit;         /* the heap limit, off while the script's arguments are made */
static lua_State *script_thread(void) {
    if (!script_co) {
        script_co = lua_newthread(L);
        lua_setfield(L, LUA_REGISTRYINDEX, SCRIPT_THREAD_KEY);
    }
    return script_co;
}
/* coroutine.yield and coroutine.running as the script's own thread were the main
 * thread (as in Redis): yielding from it is an error, and it is "not a coroutine". */
static int co_yield(lua_State *l) {
    if (l == rl_script_thread) luaG_runerror(l, "attempt to yield across metamethod/C-call boundary"); /* lua_yield's own error */
    return lua_yield(l, lua_gettop(l));
}
static int co_running(lua_State *l) {
    if (l == rl_script_thread || lua_pushthread(l)) lua_pushnil(l);
    return 1;
}

/* Run registry[fname] like evalGenericCommand/luaCallFunction.
 * inbuf = [u32 nkeys][u32 nargs] then (u32 len, bytes)*; outbuf = RESP reply.
 * Returns 0 = reply, 1 = error reply (already RESP in outbuf), 2 = no such
 * script, 3 = paused (rl_resume continues it), 4 = a script is paused already. */
static int run_pushed(const char *display, double budget, double mbudget, int fcall_mode);
static int script_done(int st);
EXPORT int rl_eval(const char *fname, double budget, int cresp, double mbudget) {
    outbuf.len = 0;
    if (paused) return 4;
    client_resp = cresp; script_resp = 2;
    /* A reference may grow the registry: never refused here (outside any pcall), as rl_load. */
    size_t saved_limit = mem_limit; mem_limit = 0;
    if (errh_ref == LUA_NOREF) { lua_getglobal(L, "__redis__err__handler"); errh_ref = luaL_ref(L, LUA_REGISTRYINDEX); }
    lua_rawgeti(L, LUA_REGISTRYINDEX, errh_ref);
    if (eval_fn_ref != LUA_NOREF && strcmp(fname, eval_fn_name) == 0) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, eval_fn_ref);
    } else {
        lua_getfield(L, LUA_REGISTRYINDEX, fname);
        if (lua_isnil(L, -1)) { lua_pop(L, 2); mem_limit = saved_limit; return 2; }
        size_t n = strlen(fname);
        if (n < sizeof eval_fn_name) {
            if (eval_fn_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, eval_fn_ref);
            lua_pushvalue(L, -1);
            eval_fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
            memcpy(eval_fn_name, fname, n + 1);
        }
    }
    mem_limit = saved_limit;
    return run_pushed(fname + 2, budget, mbudget, 0);
}
/* luaEngineCall: runs the callback registry[ref] with (KEYS, ARGV) as its
 * arguments; namebuf holds the function's name (for error messages). */
EXPORT int rl_fcall(int ref, double budget, int cresp, double mbudget) {
    outbuf.len = 0;
    if (paused) return 4;
    client_resp = cresp; script_resp = 2;
    lua_pushstring(L, REGISTRY_ERROR_HANDLER_NAME);
    lua_gettable(L, LUA_REGISTRYINDEX);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    if (!lua_isfunction(L, -1)) { lua_pop(L, 2); return 2; }
    return run_pushed(namebuf, budget, mbudget, 1);
}
/* Continues the paused script (kill: stop it at its next instruction with
 * "Script killed by user with SCRIPT KILL..."). Returns as rl_eval. */
EXPORT int rl_resume(int kill) {
    outbuf.len = 0;
    if (!paused) return 4;
    rl_resume_hook(script_co, kill);
    return script_done(lua_resume(script_co, 0));
}
EXPORT int rl_paused(void) { return paused; }
/* The error handler and the function are on the main thread's stack. */
static int run_pushed(const char *display, double budget, double mbudget, int fcall_mode) {
    { size_t n = strlen(display); if (n >= sizeof run_display) n = sizeof run_display - 1; memcpy(run_display, display, n); run_display[n] = 0; } /* not snprintf: per script */
    const char *p = inbuf.p; uint32_t nk, na;
    memcpy(&nk, p, 4); memcpy(&na, p + 4, 4); p += 8;
    size_t saved_limit = mem_limit; mem_limit = 0; /* never fail outside the pcall */
    run_saved_limit = saved_limit;
    lua_State *co = script_thread();
    rl_basic_stacks(co);
    /* The coroutine's stack as the main thread's was when scripts ran there:
     * a slot where the error handler was, then the function. */
    lua_pushnil(co);
    lua_xmove(L, co, 1);
    rl_pause_begin(co);
    rl_budget_begin(budget, "Script exceeded its instruction budget");
    in_script = 1;
    int nargs = 0;
    if (fcall_mode) {
        create_array(co, &p, nk);
        create_array(co, &p, na);
        nargs = 2;
    } else {
        create_array(L, &p, nk);
        lua_enablereadonlytable(L, LUA_GLOBALSINDEX, 0); lua_setglobal(L, "KEYS"); lua_enablereadonlytable(L, LUA_GLOBALSINDEX, 1);
        create_array(L, &p, na);
        lua_enablereadonlytable(L, LUA_GLOBALSINDEX, 0); lua_setglobal(L, "ARGV"); lua_enablereadonlytable(L, LUA_GLOBALSINDEX, 1);
    }
    mem_limit = saved_limit;
    rl_count_begin(mbudget);
    return script_done(lua_resume(co, nargs));
}
/* After lua_resume: paused, or the script ended; then as lua_pcall(f, 1 result,
 * error handler) would have left it: the result or the handler's on the main
 * thread's stack above the handler. */
static int script_done(int st) {
    if (st == LUA_YIELD) { paused = 1; return 3; }
    paused = 0;
    lua_State *co = script_co;
    size_t saved_limit = run_saved_limit;
    const char *display = run_display;
    int err = 0, dead = 0;
    if (st == 0) {
        if (lua_gettop(co) < 2) lua_pushnil(L);
        else { lua_settop(co, 2); lua_xmove(co, L, 1); }
        lua_settop(co, 0);
    } else {
        dead = 1;
        err = st;
        if (st == LUA_ERRRUN && lua_checkstack(co, 3)) {
            /* The error handler, where lua_pcall would have called it: the dead
             * coroutine's stack is still where the error was raised (and its
             * C-call depth put back as it was there), with the handler as its
             * own error handler, as while lua_pcall's errfunc runs. */
            int errpos = lua_gettop(co);
            lua_pushvalue(L, -1); lua_xmove(L, co, 1);
            lua_pushvalue(co, -1);
            lua_pushvalue(co, errpos);
            co->nCcalls++;
            int hs = lua_pcall(co, 1, 1, errpos + 1);
            co->nCcalls--;
            err = hs ? hs : LUA_ERRRUN;
        }
        lua_xmove(co, L, 1);
    }
    rl_count_end();
    mem_limit = 0;
    /* No LUA_GCSTEP of 50 KB every 50 scripts, as Redis's evalGenericCommand
     * does: a short script leaves a few hundred bytes of garbage, so that
     * step made the collector run about four times its own pace (a cycle
     * marks the whole heap), a sixth of a short script's cost. The
     * incremental collector's own pace (pause 200 %) keeps the heap within
     * about twice its live size; nothing a script or a replica decides
     * depends on when garbage is freed (the memory budget charges
     * allocations, never frees). */
    /* Lua 5.1 has no emergency GC: after a script that hit the limit (or left
     * the heap over half of it) collect everything, deterministically. */
    if (err == LUA_ERRMEM || (saved_limit && mem_used > saved_limit / 2)) lua_gc(L, LUA_GCCOLLECT, 0);
    int rc = 0;
    const char *over_src; int over_line;
    if (rl_mem_over_at(&over_src, &over_line)) {
        /* Whatever error ended it (the memory error where the budget ran out, or the hook's): the budget's. */
        rc = 1;
        char t[256]; int n;
        if (over_line >= 0) n = snprintf(t, sizeof t, "-ERR Script exceeded its memory budget script: %s, on %s:%d.", display, over_src, over_line);
        else n = snprintf(t, sizeof t, "-ERR Script exceeded its memory budget script: %s", display);
        bput_mapped(&outbuf, t, (size_t)n); bput(&outbuf, "\r\n", 2);
        lua_pop(L, 1);
    } else if (err) {
        rc = 1;
        const char *sha = display;
        if (!lua_istable(L, -1)) {
            const char *msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "execution failure";
            char t[256]; int n = snprintf(t, sizeof t, "Error running script %s, %.100s\n", sha, msg);
            reply_error_fmt(&outbuf, t, (size_t)n);
        } else {
            buf_t t = {0};
            lua_getfield(L, -1, "err");
            bput(&t, "-", 1);
            if (lua_isstring(L, -1)) bputs(&t, lua_tostring(L, -1)); else bputs(&t, "(null)");
            lua_pop(L, 1);
            lua_getfield(L, -1, "source"); lua_getfield(L, -2, "line");
            if (lua_isstring(L, -1) && lua_isstring(L, -2)) {
                bputs(&t, " script: "); bputs(&t, sha); bputs(&t, ", on "); bputs(&t, lua_tostring(L, -2)); bputs(&t, ":"); bputs(&t, lua_tostring(L, -1)); bputs(&t, ".");
            }
            lua_pop(L, 2);
            /* addReplyErrorSdsExSafe: map only (no trim) */
            bput_mapped(&outbuf, t.p, t.len); bput(&outbuf, "\r\n", 2);
            free(t.p);
        }
        lua_pop(L, 1);
    } else {
        lua_to_resp(L, &outbuf);
    }
    rl_budget_end();
    rl_pause_end();
    in_script = 0;
    lua_pop(L, 1); /* error handler */
    if (dead) { /* dropped: the next script gets a new coroutine */
        lua_pushnil(L); lua_setfield(L, LUA_REGISTRYINDEX, SCRIPT_THREAD_KEY);
        script_co = NULL;
    }
    mem_limit = saved_limit;
    return rc;
}
