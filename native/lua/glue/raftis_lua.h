/*
 * raftis_lua.h -- what raftis_lua.c (the scripting environment) and
 * raftis_functions.c (the functions engine) share.
 */
#ifndef RAFTIS_LUA_H
#define RAFTIS_LUA_H

#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include "lua.h"

#define EXPORT __attribute__((used, visibility("default")))
#define HOOK_PERIOD 100 /* instructions between hook calls */

/* ---- small growable byte buffer ------------------------------------------ */
typedef struct { char *p; size_t len, cap; } buf_t;
static inline void bgrow(buf_t *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < b->len + extra) nc *= 2;
    char *np = realloc(b->p, nc);
    if (!np) abort();
    b->p = np; b->cap = nc;
}
static inline void bput(buf_t *b, const char *s, size_t n) { bgrow(b, n); memcpy(b->p + b->len, s, n); b->len += n; }
static inline void bputs(buf_t *b, const char *s) { bput(b, s, strlen(s)); }
static inline void bu32(buf_t *b, uint32_t v) { bput(b, (const char *)&v, 4); }
/* A RESP header line, "<c><n>\r\n": what snprintf("%c%lld\r\n") wrote, by
 * hand (snprintf's machinery was a tenth of a short script's run, with a
 * header per reply). The digits come out backwards from the magnitude as
 * unsigned, so LLONG_MIN needs no special case. */
static inline void bhdr(buf_t *b, char c, long long n) {
    char t[24]; int i = sizeof t;
    t[--i] = '\n'; t[--i] = '\r';
    unsigned long long u = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
    do { t[--i] = (char)('0' + (int)(u % 10)); u /= 10; } while (u);
    if (n < 0) t[--i] = '-';
    t[--i] = c;
    bput(b, t + i, sizeof t - (size_t)i);
}

/* ---- raftis_lua.c --------------------------------------------------------- */
lua_State *rl_state(void);
buf_t *rl_outbuf(void);   /* what the JS side reads back (rl_out_ptr / rl_out_len) */
buf_t *rl_inbuf(void);    /* what the JS side wrote (rl_in_buf) */
void rl_push_error(lua_State *l, const char *e);        /* luaPushError */
void rl_set_error_metatable(lua_State *l);              /* luaSetErrorMetatable: reads of missing keys raise */
void rl_protect_recursively(lua_State *l);              /* luaSetTableProtectionRecursively */
int rl_redis_log(lua_State *l);                         /* redis.log */
void rl_setfn(lua_State *l, const char *k, lua_CFunction f);
void rl_setnum(lua_State *l, const char *k, double v);
int rl_heap_near(size_t extra);       /* the heap limit is set and the heap plus `extra` would pass it */

/* ---- raftis_budget.c ------------------------------------------------------ */
/* The instruction budget for what runs next (0: none): a count hook every
 * HOOK_PERIOD instructions raises `error` once it is spent, and again at every
 * instruction after, so a pcall cannot swallow it. rl_budget_end removes it. */
void rl_budget_begin(double budget, const char *error);
void rl_budget_end(void);
extern int rl_nocount;                /* > 0: allocations are not charged */
void rl_count_begin(double budget);  /* charge what runs next to a memory budget (0: none) */
void rl_count_end(void);
int rl_mem_over(void);                /* the budget ran out since rl_count_begin */
int rl_mem_over_at(const char **src, int *line); /* ...and where (line -1: unknown) */
void rl_basic_stacks(lua_State *L);   /* a thread's stacks at the sizes every script starts from */

/* Pausing: a script runs on a coroutine (rl_script_thread); every
 * RL_CHECK_PERIOD hooks the count hook asks the host (rl_host kind 5: 0 go
 * on, 1 pause, 2 kill) and yields where a coroutine can (see raftis_budget.c). */
#define RL_CHECK_PERIOD 8192           /* hooks (x HOOK_PERIOD instructions) between two questions */
extern lua_State *rl_script_thread;
extern int rl_killed;
void rl_pause_begin(lua_State *co);
void rl_pause_end(void);
void rl_resume_hook(lua_State *co, int kill);
void rl_kill_now(lua_State *l);     /* stop the running script at its next instruction with the kill error */

/* The error handler's body (script_lua.c, function_lua.c): EVAL keeps it as a
 * global function, the functions engine returns it to keep in the registry. */
#define RL_ERRH_HEAD "local dbg = debug\n" "debug = nil\n"
#define RL_ERRH_BODY \
    "  local i = dbg.getinfo(2,'nSl')\n" \
    "  if i and i.what == 'C' then\n" \
    "    i = dbg.getinfo(3,'nSl')\n" \
    "  end\n" \
    "  if type(err) ~= 'table' then\n" \
    "    err = {err='ERR ' .. tostring(err)}" \
    "  end" \
    "  if i then\n" \
    "    err['source'] = i.source\n" \
    "    err['line'] = i.currentline\n" \
    "  end" \
    "  return err\n" \
    "end\n"

/* ---- raftis_functions.c --------------------------------------------------- */
#define REGISTRY_ERROR_HANDLER_NAME "__ERROR_HANDLER__"
extern const char *RL_ERRH_FUNCTIONS;     /* the functions engine's error handler (returns it) */
void rl_functions_init_api(lua_State *L); /* the library API table, in the registry */
void rl_functions_init_env(lua_State *L); /* the globals of the functions engine */

#endif
