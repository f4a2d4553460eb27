/**
 * LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN] (t_string.c,
 * 7.0.15): the longest common subsequence of two strings by the classic
 * dynamic-programming table, walked back from the end to build the string
 * or the matching ranges, exactly as Redis walks it (so ties between equally
 * long subsequences resolve the same way). Missing keys are empty strings.
 */
import { ERR } from './errors.js';
import { getLong } from './args.js';
import { PROTO_MAX_BULK_LEN } from './string.js';
import type { Ctx, DataHandler } from './types.js';

function lcs(ctx: Ctx, argv: string[]): void {
  const w = ctx.w;
  const va = ctx.db.lookupRead(argv[1]!, ctx.now);
  const vb = ctx.db.lookupRead(argv[2]!, ctx.now);
  if ((va !== undefined && typeof va !== 'string') || (vb !== undefined && typeof vb !== 'string')) {
    return w.error('ERR The specified keys must contain string values');
  }
  const a = va ?? '';
  const b = vb ?? '';
  let getidx = false;
  let getlen = false;
  let withmatchlen = false;
  let minmatchlen = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j]!.toLowerCase();
    const moreargs = argv.length - 1 - j;
    if (opt === 'idx') getidx = true;
    else if (opt === 'len') getlen = true;
    else if (opt === 'withmatchlen') withmatchlen = true;
    else if (opt === 'minmatchlen' && moreargs > 0) {
      const n = getLong(ctx, argv[++j]!);
      if (n === undefined) return;
      minmatchlen = n < 0 ? 0 : n;
    } else return w.error(ERR.syntax);
  }
  if (getlen && getidx) return w.error('ERR If you want both the length and indexes, please just use IDX.');

  const alen = a.length;
  const blen = b.length;
  const cells = (alen + 1) * (blen + 1);
  if (cells * 4 > PROTO_MAX_BULK_LEN) return w.error('ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len');
  // table[j + (blen+1)*i]: the LCS length of a[0..i) and b[0..j).
  const table = new Uint32Array(cells);
  const row = blen + 1;
  for (let i = 1; i <= alen; i++) {
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= blen; j++) {
      const k = j + row * i;
      if (ca === b.charCodeAt(j - 1)) table[k] = table[k - row - 1]! + 1;
      else {
        const up = table[k - row]!;
        const left = table[k - 1]!;
        table[k] = up > left ? up : left;
      }
    }
  }
  const total = table[blen + row * alen]!;
  const computelcs = getidx || !getlen;
  const result: number[] = computelcs ? new Array<number>(total) : [];
  let idx = total;
  const ranges: number[][] = [];
  // alen in aStart: no range open.
  let aStart = alen;
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  let i = alen;
  let j = blen;
  while (computelcs && i > 0 && j > 0) {
    let emit = false;
    if (a.charCodeAt(i - 1) === b.charCodeAt(j - 1)) {
      result[idx - 1] = a.charCodeAt(i - 1);
      if (aStart === alen) {
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        // Contiguous with the range open: extend it backward.
        aStart--;
        bStart--;
      } else {
        emit = true;
      }
      // A range that reached the start of either string ends here.
      if (aStart === 0 || bStart === 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      if (table[j + row * (i - 1)]! > table[j - 1 + row * i]!) i--;
      else j--;
      if (aStart !== alen) emit = true;
    }
    if (emit) {
      const matchLen = aEnd - aStart + 1;
      if (getidx && (minmatchlen === 0 || matchLen >= minmatchlen)) ranges.push([aStart, aEnd, bStart, bEnd, matchLen]);
      aStart = alen;
    }
  }

  if (getidx) {
    w.mapHeader(2);
    w.bulk('matches');
    w.arrayHeader(ranges.length);
    for (const [as, ae, bs, be, len] of ranges) {
      w.arrayHeader(withmatchlen ? 3 : 2);
      w.arrayHeader(2);
      w.int(as!);
      w.int(ae!);
      w.arrayHeader(2);
      w.int(bs!);
      w.int(be!);
      if (withmatchlen) w.int(len!);
    }
    w.bulk('len');
    w.int(total);
  } else if (getlen) {
    w.int(total);
  } else {
    let out = '';
    for (let k = 0; k < result.length; k += 8192) out += String.fromCharCode(...result.slice(k, k + 8192));
    w.bulk(out);
  }
}

export const lcsCommands: Record<string, DataHandler> = { lcs };
