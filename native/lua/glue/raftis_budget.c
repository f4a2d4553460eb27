/*
 * raftis_budget.c -- what stops a script the same way on every replica: an
 * instruction budget (a LUA_MASKCOUNT hook) and a memory budget charged with
 * what the script's own operations allocate (rl_charge, called from Lua's
 * allocation paths as ../patch-budget.py patches them).
 *
 * The memory budget: while a script runs (rl_counting), the Lua sources
 * charge here every growth of a block, every string asked for (interned
 * already or not), the largest concatenation buffer asked for, and stack
 * growth from stacks of the same size everywhere (rl_basic_stacks). Frees
 * are not subtracted (when the collector frees depends on the heap's
 * history), so the charge is the same on every replica and a script over its
 * budget fails at the same operation everywhere. See docs/decisions.md
 * "Memory.".
 */
#include <stdio.h>

#include "lua.h"
#include "lstate.h"
#include "ldo.h"
#include "raftis_lua.h"

/* ---- the instruction budget ---------------------------------------------- */
static long long budget_left = 0;          /* instructions left for what runs */
static long long budget_start = 0;         /* budget_left when it began (rl_executed) */
static int budget_exhausted = 0;
static const char *budget_error = "Script exceeded its instruction budget";

/* ---- the memory budget ---------------------------------------------------- */
int rl_counting = 0;                      /* charge allocations to the running script */
int rl_nocount = 0;                       /* > 0: inside a section that is never charged */
size_t rl_buff_hw = 0;                    /* largest concatenation buffer the script asked for */
static unsigned long long mem_charged = 0, mem_budget = 0;
static int mem_over = 0;                  /* the script went over its budget */
static char over_src[64];                 /* where (the innermost Lua frame), for the error */
static int over_line = -1;

/* ---- pausing and killing (see raftis_lua.h) ------------------------------ */
lua_State *rl_script_thread = NULL;       /* the coroutine the running script runs on (NULL: none, or not pausable) */
static int check_period = RL_CHECK_PERIOD; /* hooks between two questions to the host */
static int check_left = RL_CHECK_PERIOD;
static int want_yield = 0;                /* the host asked for a pause: at the next hook where it can be done */
int rl_killed = 0;                        /* the host asked to stop the script (SCRIPT KILL / FUNCTION KILL) */
extern int rl_host(int kind, const char *buf, int len);
EXPORT void rl_set_check_period(int hooks) { check_period = hooks > 0 ? hooks : RL_CHECK_PERIOD; check_left = check_period; }
void rl_pause_begin(lua_State *co) { rl_script_thread = co; check_left = check_period; want_yield = 0; rl_killed = 0; }
void rl_pause_end(void) { rl_script_thread = NULL; want_yield = 0; }

static void count_hook(lua_State *l, lua_Debug *ar) {
    (void)ar;
    if (rl_killed) { /* scriptInterrupt said SCRIPT_KILL: every instruction raises it (Redis: a line hook), a pcall cannot swallow it */
        lua_sethook(l, count_hook, LUA_MASKCOUNT, 1);
        rl_push_error(l, "Script killed by user with SCRIPT KILL...");
        lua_error(l);
    }
    if (mem_over) { /* armed by rl_charge: every instruction raises it, a pcall cannot swallow it */
        lua_sethook(l, count_hook, LUA_MASKCOUNT, 1);
        rl_push_error(l, "Script exceeded its memory budget");
        lua_error(l);
    }
    budget_left -= HOOK_PERIOD;
    if (budget_left <= 0 || budget_exhausted) {
        budget_exhausted = 1;
        lua_sethook(l, count_hook, LUA_MASKCOUNT, 1); /* keep firing: pcall cannot swallow it */
        rl_push_error(l, budget_error);
        lua_error(l);
    }
    if (rl_script_thread) {
        /* Ask the host (a clock read, cheap at this period) whether to pause;
         * pause only where a coroutine may yield: the script's own thread with
         * no C call on its stack (not inside pcall, a sort comparator, a gsub
         * callback, a metamethod...), else at a later hook. The yield is
         * invisible to the script: rl_resume continues at this instruction with
         * the hook count as it was (see there). */
        if (!want_yield && --check_left <= 0) {
            check_left = check_period;
            int r = rl_host(5, NULL, 0);
            if (r == 2) { rl_killed = 1; lua_sethook(l, count_hook, LUA_MASKCOUNT, 1); lua_sethook(rl_script_thread, count_hook, LUA_MASKCOUNT, 1); return; }
            want_yield = r == 1;
        }
        if (want_yield && l == rl_script_thread && l->nCcalls == l->baseCcalls) {
            want_yield = 0;
            lua_yield(l, 0);
        }
    }
}
void rl_budget_begin(double budget, const char *error) {
    budget_left = (long long)budget; budget_exhausted = 0; budget_error = error;
    if (budget > 0) {
        lua_sethook(rl_state(), count_hook, LUA_MASKCOUNT, HOOK_PERIOD);
        if (rl_script_thread) lua_sethook(rl_script_thread, count_hook, LUA_MASKCOUNT, HOOK_PERIOD);
    } else if (rl_script_thread) {
        /* no budget: the hook still runs, for pausing and SCRIPT KILL (its budget never runs out) */
        budget_left = 0x7fffffffffffffffLL;
        lua_sethook(rl_state(), count_hook, LUA_MASKCOUNT, HOOK_PERIOD);
        lua_sethook(rl_script_thread, count_hook, LUA_MASKCOUNT, HOOK_PERIOD);
    }
    budget_start = budget_left;
}
/* The instructions the running (or last) script has run, as the count hook
 * counts them (a multiple of HOOK_PERIOD): the same at the same point of a
 * script on every replica, whatever pauses it had. */
EXPORT double rl_executed(void) { return (double)(budget_start - budget_left); }
/* The host refused a redis.call (a replicated script's first write before
 * the log decided on it): the script stops at its next instruction as SCRIPT
 * KILL stops it (the count hook raises the kill error, at every instruction
 * after too, so a pcall cannot swallow it). */
void rl_kill_now(lua_State *l) {
    lua_State *main = rl_state();
    rl_killed = 1;
    lua_sethook(l, count_hook, LUA_MASKCOUNT, 1);
    if (l != main) lua_sethook(main, count_hook, LUA_MASKCOUNT, 1);
    if (rl_script_thread && l != rl_script_thread) lua_sethook(rl_script_thread, count_hook, LUA_MASKCOUNT, 1);
}
void rl_budget_end(void) {
    lua_sethook(rl_state(), NULL, 0, 0);
    if (rl_script_thread) lua_sethook(rl_script_thread, NULL, 0, 0);
}
/* A script paused in the hook continues: the yield left the hook count as the
 * hook set it, and the instruction the hook interrupted is fetched (and the
 * count decremented) again, so add that one back: the hooks fire at the same
 * instructions as without the pause. A kill makes the next instruction's hook
 * raise it. */
void rl_resume_hook(lua_State *co, int kill) {
    if (kill) { rl_killed = 1; lua_sethook(co, count_hook, LUA_MASKCOUNT, 1); }
    else co->hookcount++;
}

static void note_position(lua_State *l) {
    lua_Debug ar;
    over_line = -1;
    for (int lv = 0; lv < 8 && lua_getstack(l, lv, &ar); lv++) {
        if (lua_getinfo(l, "Sl", &ar) && ar.currentline >= 0) {
            snprintf(over_src, sizeof over_src, "%s", ar.source);
            over_line = ar.currentline;
            return;
        }
    }
}
/* Charges n bytes to the running script. 1: refuse the allocation (the caller
 * raises LUA_ERRMEM). Once over, every charged operation fails, except inside
 * a hook (allowhook 0: the budget's own error being raised and its handler),
 * and the count hook is armed on this thread and the main one so the script
 * stops at its next instruction even if a pcall caught the memory error. */
int rl_charge(lua_State *l, size_t n) {
    if (rl_nocount) return 0;
    mem_charged += n;
    if (!mem_budget || mem_charged <= mem_budget) return 0;
    if (!mem_over) {
        lua_State *main = rl_state();
        mem_over = 1;
        note_position(l);
        lua_sethook(l, count_hook, LUA_MASKCOUNT, 1);
        if (l != main) lua_sethook(main, count_hook, LUA_MASKCOUNT, 1);
        if (rl_script_thread && l != rl_script_thread) lua_sethook(rl_script_thread, count_hook, LUA_MASKCOUNT, 1);
    }
    return l->allowhook ? 1 : 0;
}
void rl_count_begin(double budget) {
    mem_budget = budget > 0 ? (unsigned long long)budget : 0;
    mem_charged = 0; mem_over = 0; rl_nocount = 0; rl_buff_hw = 0;
    /* Keep the heap limit (a per-node accident) out of the budget's way:
     * collect first when what the script may add could reach it. */
    if (mem_budget && rl_heap_near((size_t)(mem_budget + mem_budget / 2))) lua_gc(rl_state(), LUA_GCCOLLECT, 0);
    rl_counting = 1;
}
void rl_count_end(void) { rl_counting = 0; }
int rl_mem_over(void) { return mem_over; }
int rl_mem_over_at(const char **src, int *line) { *src = over_src; *line = over_line; return mem_over; }
/* What the last script was charged (bytes; see rl_charge). */
EXPORT double rl_mem_charged(void) { return (double)mem_charged; }

/* The main thread's stacks start every script at the same sizes (and the
 * collector does not shrink them while a script runs), so their growth is
 * charged alike on every replica. Sizes most scripts never outgrow: no
 * reallocation per script. */
#define SCRIPT_STACK_SIZE 256
#define SCRIPT_CI_SIZE 32
void rl_basic_stacks(lua_State *L) {
    if (L->ci != L->base_ci) return;
    if (L->size_ci != SCRIPT_CI_SIZE) luaD_reallocCI(L, SCRIPT_CI_SIZE);
    if (L->stacksize != SCRIPT_STACK_SIZE + 1 + EXTRA_STACK && L->top - L->stack < SCRIPT_STACK_SIZE) luaD_reallocstack(L, SCRIPT_STACK_SIZE);
}
