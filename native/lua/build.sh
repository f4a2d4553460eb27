#!/usr/bin/env bash
# Build Redis 7.0.15's Lua 5.1.5 (deps/lua: Lua + cjson + cmsgpack + bit + struct)
# plus glue/raftis_lua.c, raftis_functions.c and raftis_budget.c into dist/lua51.{cjs,wasm} with Debian 12's emscripten 3.1.6
# (apt-get install emscripten). The output is committed: raftis needs only Node.js.
#
#   native/lua/build.sh            (~13 s; byte-reproducible; prints the wasm's sha256)
#
# REDIS_SRC must contain deps/lua/src and src/{sha1.c,sha1.h,rand.c,rand.h}.
# Default: ../redis-lua, the vendored copy of those files from Debian's
# redis 5:7.0.15-1~deb12u7 source package (upstream 7.0.15 + Debian's security
# patches, including the Lua fixes for CVE-2025-46817/46819/49844 and lua_bit
# CVE fixes); see ../redis-lua/SOURCES.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
REDIS_SRC=${REDIS_SRC:-$here/../redis-lua}
OUT=${OUT:-$here/dist}
B=$(mktemp -d); B0=$B
trap 'rm -rf "$B0"' EXIT

# NODE_PATH: Debian's emscripten needs node-acorn from /usr/share/nodejs.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}

# same layout as the redis tree (lua_cjson.c includes ../../../src/solarisfixes.h)
mkdir -p "$B"/deps/lua/src "$B"/src
cp "$REDIS_SRC"/deps/lua/src/*.[ch] "$B"/deps/lua/src/
cp "$REDIS_SRC"/src/sha1.c "$REDIS_SRC"/src/sha1.h "$REDIS_SRC"/src/rand.c "$REDIS_SRC"/src/rand.h "$B"/src/
cp "$here"/glue/config.h "$here"/glue/solarisfixes.h "$B"/src/
cp "$here"/glue/raftis_lua.c "$here"/glue/raftis_functions.c "$here"/glue/raftis_budget.c "$here"/glue/raftis_lua.h "$B"/deps/lua/src/
B=$B0/deps/lua/src

# --- make wasm32 behave like Redis on x86-64 (LP64) --------------------------
# 1. lua_Integer is ptrdiff_t (64-bit on x86-64): use long long.
sed -i 's/^#define LUA_INTEGER\tptrdiff_t$/#define LUA_INTEGER\tlong long/' "$B"/luaconf.h
grep -q '^#define LUA_INTEGER	long long$' "$B"/luaconf.h
# 2. double -> int casts: x86 cvttsd2si gives INT_MIN/LLONG_MIN for NaN and
#    out-of-range values; wasm would trap (or saturate with -mnontrapping-fptoint).
python3 - "$B"/luaconf.h <<'EOF'
import sys
p = sys.argv[1]; s = open(p).read()
old_i = "#define lua_number2int(i,d)\t((i)=(int)(d))"
old_l = "#define lua_number2integer(i,d)\t((i)=(lua_Integer)(d))"
assert old_i in s and old_l in s
helpers = ("static inline int rl_d2i(double d) { return (d >= -2147483648.0 && d < 2147483648.0) ? (int)d : (int)0x80000000u; }\n"
           "static inline long long rl_d2ll(double d) { return (d >= -9223372036854775808.0 && d < 9223372036854775808.0) ? (long long)d : (long long)0x8000000000000000ull; }\n"
           "static inline unsigned long long rl_d2ull(double d) { if (!(d >= 9223372036854775808.0)) return (unsigned long long)rl_d2ll(d); return ((unsigned long long)rl_d2ll(d - 9223372036854775808.0)) ^ 0x8000000000000000ull; }\n")
s = s.replace(old_i, helpers + "#define lua_number2int(i,d)\t((i)=rl_d2i(d))")
s = s.replace(old_l, "#define lua_number2integer(i,d)\t((i)=rl_d2ll(d))")
open(p, "w").write(s)
EOF
#    Same for the raw casts in string.format('%d'/'%x') and struct.pack.
python3 - "$B"/lstrlib.c "$B"/lua_struct.c <<'EOF'
import sys
reps = {sys.argv[1]: [("(LUA_INTFRM_T)luaL_checknumber(L, arg)", "(LUA_INTFRM_T)rl_d2ll(luaL_checknumber(L, arg))"),
                      ("(unsigned LUA_INTFRM_T)luaL_checknumber(L, arg)", "(unsigned LUA_INTFRM_T)rl_d2ull(luaL_checknumber(L, arg))")],
        sys.argv[2]: [("value = (Uinttype)(Inttype)n;", "value = (Uinttype)rl_d2ll(n);"),
                      ("value = (Uinttype)n;", "value = (Uinttype)rl_d2ull(n);")]}
for p, rs in reps.items():
    s = open(p).read()
    for a, b in rs:
        assert a in s, a
        s = s.replace(a, b)
    open(p, "w").write(s)
EOF
# 3. struct: 'l'/'L' are sizeof(long)=8 and 'T' sizeof(size_t)=8 on x86-64.
sed -i "s/case 'L': case 'l': return sizeof(long);/case 'L': case 'l': return 8;/; s/case 'T': return sizeof(size_t);/case 'T': return 8;/" "$B"/lua_struct.c
grep -q "case 'T': return 8;" "$B"/lua_struct.c

# 4. A script's memory budget: charge what a script's own operations ask for,
#    whatever the heap's history (patch-budget.py says how).
python3 "$here"/patch-budget.py "$B"

CFLAGS="-I../../../src -O2 -DLUA_ANSI -DENABLE_CJSON_GLOBAL -DREDIS_STATIC= -DLUA_USE_MKSTEMP -DLUA_USELONGLONG -DSTRUCT_INT=long\ long -fwrapv -mnontrapping-fptoint -Wno-everything"
SRCS="lapi.c lcode.c ldebug.c ldo.c ldump.c lfunc.c lgc.c llex.c lmem.c lobject.c lopcodes.c lparser.c lstate.c lstring.c ltable.c ltm.c lundump.c lvm.c lzio.c strbuf.c fpconv.c
      lauxlib.c lbaselib.c ldblib.c lmathlib.c ltablib.c lstrlib.c lua_cjson.c lua_struct.c lua_cmsgpack.c lua_bit.c
      ../../../src/sha1.c ../../../src/rand.c raftis_lua.c raftis_functions.c raftis_budget.c"
EXPORTS='["_rl_load_library","_rl_unref","_rl_fcall","_rl_init","_rl_close","_rl_load","_rl_has","_rl_eval","_rl_in_buf","_rl_reply_buf","_rl_out_ptr","_rl_out_len","_rl_mem_used","_rl_mem_peak","_rl_set_mem_limit","_rl_gc","_rl_srand","_rl_name_buf","_rl_mem_charged","_rl_resume","_rl_paused","_rl_set_check_period","_rl_executed"]'
mkdir -p "$OUT"
( cd "$B" && eval emcc $CFLAGS $SRCS \
    --js-library "$here"/glue/library_raftis.js \
    -sMODULARIZE=1 -sEXPORT_NAME=createLua51 -sENVIRONMENT=node -sWASM_ASYNC_COMPILATION=0 \
    -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=16MB -sMAXIMUM_MEMORY=1GB -sABORTING_MALLOC=0 \
    -sFILESYSTEM=0 -sEXIT_RUNTIME=0 -sNODEJS_CATCH_EXIT=0 -sNODEJS_CATCH_REJECTION=0 -sINCOMING_MODULE_JS_API='["wasmBinary","rlHost","print","printErr"]' \
    -sEXPORTED_FUNCTIONS="'$EXPORTS'" -sEXPORTED_RUNTIME_METHODS='["HEAPU8"]' \
    -o "$OUT"/lua51.cjs )
ls -l "$OUT"
sha256sum "$OUT"/lua51.wasm
