// The write commands of bench/data-model.mjs (issue 18) as named tests for the
// callgrind scripts (bench/callgrind-per-request.mjs, bench/callgrind-three.mjs):
// `--tests PFADD:16,GEOADD:1,XADD:16` sends exactly the command line data-model.mjs
// sends (redis-benchmark -c 50 -r 100000 … <command>, __rand_int__ replaced by
// redis-benchmark), instead of a `-t NAME` test. Keep in step with data-model.mjs.
export const DATA_MODEL_COMMANDS = {
  XADD: ['XADD', 'bench:stream', '*', 'field', 'value:__rand_int__'],
  PFADD: ['PFADD', 'bench:hll', 'element:__rand_int__'],
  GEOADD: ['GEOADD', 'bench:geo', '13.361389', '38.115556', 'member:__rand_int__'],
};
